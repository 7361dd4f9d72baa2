"""Secrets out of shell history, cron lines and command lines, before anything is reported.

Rules (each replaces the value with ``***`` and keeps the rest of the line):

- ``-p<password>`` of the MySQL/MariaDB clients and ``sshpass -p X``
- ``--password=X`` / ``--password X`` / ``--passwd`` / ``--pass`` (any program)
- ``--secret-key``, ``--access-key``, ``--token``, ``--api-key`` ... followed by a value
- ``NAME=value`` where NAME contains KEY, SECRET, TOKEN, PASSWORD, PASSWD, PWD or CREDENTIAL
  (with or without ``export``, in ``docker run -e``, in ``env``)
- credentials in URLs: ``scheme://user:pass@host`` → ``scheme://user:***@host``
- ``Authorization: Bearer|Basic X`` headers and ``curl -u user:pass``
- ``aws configure set aws_secret_access_key X`` and similar ``set <secret-name> X``
"""

from __future__ import annotations

import re

__all__ = ["HIDDEN", "SECRET_NAME", "is_secret_name", "is_secret_variable", "redact"]

HIDDEN = "***"

SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|CREDENTIAL|AUTH)", re.IGNORECASE)

_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s;&|]+)"""
_MYSQL_CLIENTS = re.compile(
    r"\b(mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mysqlpump|mariadb[\w-]*|sshpass)\b"
)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:pass@host
    (re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)([^\s@/]+)(@)"), rf"\g<1>{HIDDEN}\g<3>"),
    # --password=X, --passwd X, --secret-key X, --access-key=X, --token X, --api-key X
    (
        re.compile(
            r"(--?(?:[\w-]*(?:password|passwd|pass|secret|token|api[-_]?key|access[-_]?key|credentials?)"
            r"[\w-]*)(?:=|\s+))" + _VALUE,
            re.IGNORECASE,
        ),
        rf"\g<1>{HIDDEN}",
    ),
    # NAME=value where NAME looks secret (export, env, docker -e, inline)
    (
        re.compile(
            r"(\b[\w.-]*(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|CREDENTIAL)[\w.-]*=)" + _VALUE,
            re.IGNORECASE,
        ),
        rf"\g<1>{HIDDEN}",
    ),
    # Authorization headers
    (
        re.compile(r"(authorization:\s*(?:bearer|basic|token)?\s*)[^\s'\"]+", re.IGNORECASE),
        rf"\g<1>{HIDDEN}",
    ),
    # curl -u user:pass / --user user:pass
    (re.compile(r"((?:\s-u|--user)\s*['\"]?[^\s:'\"]+:)[^\s'\"]+"), rf"\g<1>{HIDDEN}"),
    # aws configure set aws_secret_access_key X (any "set <secretish-name> value")
    (
        re.compile(r"(\bset\s+[\w.-]*(?:key|secret|token|password)[\w.-]*\s+)" + _VALUE, re.IGNORECASE),
        rf"\g<1>{HIDDEN}",
    ),
)
_SHORT_P = re.compile(r"(\s-p)(?!\s)(\S+)")


def is_secret_name(name: str) -> bool:
    """True when a variable or key name suggests its value is a secret."""
    return bool(SECRET_NAME.search(name))


def is_secret_variable(name: str) -> bool:
    """:func:`is_secret_name` for environment variables, except the shell's own PWD and OLDPWD (folders)."""
    return name not in ("PWD", "OLDPWD") and is_secret_name(name)


def redact(line: str) -> str:
    """The line with every secret value it carries replaced by ``***``."""
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    if _MYSQL_CLIENTS.search(line):
        line = _SHORT_P.sub(rf"\g<1>{HIDDEN}", line)
    return line
