"""``python -m stackrig``."""

from stackrig.cli.app import main

if __name__ == "__main__":
    main()
