"""The AWS accounts ``fleet discover`` reads: the base credentials, named profiles and assumed roles.

``--account`` is a profile name or a role ARN. A role is assumed through STS from the
base credentials (``--profile``, else the boto3 chain), with ``--external-id`` and
``--role-session-name``; ``--via HUB_ROLE_ARN`` is assumed first, once, for every role
(hub and spoke). The account id of a role is in its ARN, so a warm cache answers
without any STS call; a role is assumed only when a region of its account has to be
asked. Sessions are made once per account and shared by its regions' threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stackrig.errors import StackrigError, UsageError
from stackrig.fleet._aws import AwsTarget, aws_errors, secrets_of

__all__ = ["Account", "AccountOptions", "Sessions", "parse_accounts", "role_account_id"]

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_PROFILE = re.compile(r"^[\w+=,.@:/-]{1,128}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
DEFAULT_SESSION_NAME = "stackrig-fleet"


def role_account_id(arn: str) -> str | None:
    match = ROLE_ARN.match(arn)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Account:
    """One account to read: ``label`` is what the user gave (a profile, a role ARN) or ``default``."""

    label: str
    kind: str  # "base", "profile" or "role"

    @property
    def known_id(self) -> str | None:
        """The account id without asking AWS (roles carry it in their ARN)."""
        return role_account_id(self.label) if self.kind == "role" else None


@dataclass(frozen=True, slots=True)
class AccountOptions:
    """``--account`` (repeatable), ``--external-id``, ``--role-session-name``, ``--via``."""

    accounts: tuple[str, ...] = ()
    external_id: str | None = None
    role_session_name: str = DEFAULT_SESSION_NAME
    via: str | None = None

    def __post_init__(self) -> None:
        for given in self.accounts:
            if given.startswith("arn:") and not ROLE_ARN.match(given):
                raise UsageError(
                    f"--account {given!r} is not a role ARN",
                    hint="give a profile name or arn:aws:iam::123456789012:role/NAME",
                )
            if not given.startswith("arn:") and not _PROFILE.match(given):
                raise UsageError(f"--account {given!r} is neither a profile name nor a role ARN")
        if self.via is not None and not ROLE_ARN.match(self.via):
            raise UsageError(f"--via {self.via!r} is not a role ARN (arn:aws:iam::123456789012:role/NAME)")
        if self.via is not None and not any(a.startswith("arn:") for a in self.accounts):
            raise UsageError("--via applies to role ARNs given with --account; none was given")
        if not _SESSION_NAME.match(self.role_session_name):
            raise UsageError(
                f"--role-session-name {self.role_session_name!r} must be 2-64 letters, digits or +=,.@_-"
            )
        if self.external_id is not None and not _EXTERNAL_ID.match(self.external_id):
            raise UsageError("--external-id must be 2-1224 letters, digits or +=,.@:/-_")

    def resolved(self) -> list[Account]:
        return parse_accounts(self.accounts)


def parse_accounts(given: tuple[str, ...]) -> list[Account]:
    """The accounts in the order given, each once; none given: the base credentials alone."""
    accounts = [Account(g, "role" if g.startswith("arn:") else "profile") for g in dict.fromkeys(given)]
    return accounts or [Account("default", "base")]


@dataclass
class Sessions:
    """botocore sessions per account, made on first use (thread-safe), assuming roles as needed."""

    target: AwsTarget
    options: AccountOptions
    _made: dict[str, Any] = field(default_factory=dict)
    _failed: dict[str, StackrigError] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _account_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def base(self) -> Any:
        return self._once("\0base", self.target.session)

    def session(self, account: Account) -> Any:
        if account.kind == "base":
            return self.base()
        if account.kind == "profile":
            return self._once(account.label, lambda: self._profile(account.label))
        return self._once(account.label, lambda: self._assume(account.label, self._hub()))

    def _profile(self, name: str) -> Any:
        return AwsTarget(
            region=self.target.region, endpoint_url=self.target.endpoint_url, profile=name
        ).session()

    def _hub(self) -> Any:
        via = self.options.via
        if via is None:
            return self.base()
        return self._once(f"\0via {via}", lambda: self._assume(via, self.base(), hub=True))

    def _assume(self, arn: str, source: Any, *, hub: bool = False) -> Any:
        import botocore.session

        sts = self.target.client(source, "sts", self.target.region or "us-east-1")
        params: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": self.options.role_session_name}
        if self.options.external_id and not hub:
            params["ExternalId"] = self.options.external_id
        what = f"assume the hub role {arn} (--via)" if hub else f"assume role {arn}"
        with aws_errors(what, secrets=secrets_of(source)):
            creds = sts.assume_role(**params)["Credentials"]
        session = botocore.session.Session()
        session.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        region = self.target.region or source.get_config_variable("region")
        if region:
            session.set_config_variable("region", region)
        return session

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._made:
                return self._made[key]
            lock = self._account_locks.setdefault(key, threading.Lock())
        with lock:  # one STS call per account even when its regions ask at once; a failure is kept
            with self._lock:
                if key in self._made:
                    return self._made[key]
                if key in self._failed:
                    raise self._failed[key]
            try:
                made = make()
            except StackrigError as exc:
                with self._lock:
                    self._failed[key] = exc
                raise
            with self._lock:
                self._made[key] = made
            return made
