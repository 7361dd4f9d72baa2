"""boto3 behind one door: sessions, clients with retry settings, and the one error mapping.

Credentials come the boto3 way (environment, profile, SSO, instance role); they are
never printed: every message that leaves :func:`aws_errors` has the access key,
secret and token masked. We use botocore sessions (what boto3 wraps: the same credential
chain, clients and paginators) imported lazily, so ``stackrig --help`` stays fast and a
warm-cache ``fleet discover`` does not pay for importing boto3 and s3transfer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stackrig._proc import mask
from stackrig.errors import FailedError, MissingError, UsageError

__all__ = [
    "RETRY_MODES",
    "AwsTarget",
    "CloudApiError",
    "CredentialsMissingError",
    "ThrottledError",
    "UnknownResourceError",
    "aws_errors",
    "jsonable",
]

RETRY_MODES = ("standard", "adaptive", "legacy")

CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile in "
    "~/.aws/credentials (aws configure), or run on an instance with a role; "
    "for a private or test endpoint any key pair it accepts will do"
)

_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
    }
)
_REJECTED = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
    }
)
_NOT_ALLOWED = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
# API error code → what the user gave us that does not exist.
_UNKNOWN = {
    "InvalidVpcID.NotFound": "VPC",
    "InvalidVpcID.Malformed": "VPC",
    "InvalidSubnetID.NotFound": "subnet",
    "InvalidSubnetID.Malformed": "subnet",
    "InvalidSubnet": "subnet",
    "InvalidAMIID.NotFound": "image (AMI)",
    "InvalidAMIID.Malformed": "image (AMI)",
    "InvalidAMIID.Unavailable": "image (AMI)",
    "InvalidKeyPair.NotFound": "key pair",
    "InvalidGroup.NotFound": "security group",
    "InvalidInstanceID.NotFound": "instance",
    "InvalidInstanceID.Malformed": "instance",
}


class CredentialsMissingError(MissingError):
    """No usable AWS credentials (absent, or rejected by the endpoint)."""


class UnknownResourceError(UsageError):
    """A VPC, subnet, image or key pair named on the command line does not exist."""


class ThrottledError(FailedError):
    """The API kept throttling after every retry botocore was allowed."""


class CloudApiError(FailedError):
    """Any other error the cloud API returned."""


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """Where and how to talk to AWS: built once at the CLI edge."""

    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def session(self) -> Any:
        """A botocore session (ProfileNotFound is translated)."""
        import botocore.session

        with aws_errors("open the AWS session"):
            session = botocore.session.Session(profile=self.profile)
            if self.region:
                session.set_config_variable("region", self.region)
            session.get_scoped_config()  # an unknown profile fails here, with its name
            return session

    def client(self, session: Any, service: str, region: str | None) -> Any:
        from botocore.config import Config

        config = Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=4,
        )
        with aws_errors(f"create the {service} client", region=region):
            return session.create_client(
                service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=config
            )

    def where(self, region: str | None) -> str:
        place = region or self.region or "the default region"
        if self.endpoint_url:
            return f"{place} at {self.endpoint_url}"
        return place


def secrets_of(session: Any) -> list[str]:
    """The credential values to mask in messages (empty when none resolve)."""
    try:
        creds = session.get_credentials()
    except Exception:  # noqa: BLE001 - resolving credentials to mask them must never fail the mask
        return []
    if creds is None:
        return []
    frozen = creds.get_frozen_credentials()
    return [v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v]


def credential_scope(session: Any, endpoint_url: str | None) -> str:
    """A stable, non-reversible id of (credentials, endpoint) for cache keys: never the key itself."""
    with aws_errors("read the AWS credentials"):
        creds = session.get_credentials()
    if creds is None:
        raise CredentialsMissingError("no AWS credentials found", hint=CREDENTIALS_HINT)
    access_key = creds.get_frozen_credentials().access_key or ""
    digest = hashlib.sha256(f"{access_key}\0{endpoint_url or ''}".encode()).hexdigest()
    return digest[:24]


@contextlib.contextmanager
def aws_errors(
    action: str,
    *,
    region: str | None = None,
    given: Mapping[str, str] | None = None,
    secrets: list[str] | None = None,
) -> Iterator[None]:
    """Turn every botocore/boto3 exception raised inside into one stackrig error.

    ``action`` says what we were doing ("launch instances"); ``given`` maps a
    resource kind ("VPC") to the value the user passed, for one clear line.
    """
    from botocore import exceptions as bx

    hidden = secrets or []
    where = f" in {region}" if region else ""
    try:
        yield
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
        raise CredentialsMissingError(
            f"no AWS credentials found (needed to {action})", hint=CREDENTIALS_HINT
        ) from exc
    except bx.ProfileNotFound as exc:
        raise CredentialsMissingError(
            mask(f"AWS profile {exc.kwargs.get('profile')!r} is not configured", hidden),
            hint="run aws configure --profile NAME, or pick another profile with AWS_PROFILE",
        ) from exc
    except bx.NoRegionError as exc:
        raise UsageError(
            f"no AWS region given (needed to {action})",
            hint="pass --region or set AWS_REGION / AWS_DEFAULT_REGION",
        ) from exc
    except bx.ParamValidationError as exc:
        raise UsageError(mask(f"cannot {action}: {exc}", hidden)) from exc
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError) as exc:
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        raise MissingError(
            f"cannot reach the AWS API at {endpoint}{where} (needed to {action})",
            hint="check --endpoint-url / AWS_ENDPOINT_URL, the region and the network",
        ) from exc
    except bx.ReadTimeoutError as exc:
        raise FailedError(f"the AWS API{where} did not answer in time (while trying to {action})") from exc
    except bx.ClientError as exc:
        raise translate_client_error(exc, action, region=region, given=given, secrets=hidden) from exc
    except bx.BotoCoreError as exc:
        raise CloudApiError(mask(f"cannot {action}{where}: {exc}", hidden)) from exc


def translate_client_error(
    exc: Any,
    action: str,
    *,
    region: str | None,
    given: Mapping[str, str] | None,
    secrets: list[str],
) -> Exception:
    """The stackrig error for a botocore ClientError (returned, not raised)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = mask(str(error.get("Message", "")).strip(), secrets)
    attempts = exc.response.get("ResponseMetadata", {}).get("MaxAttemptsReached")
    where = f" in {region}" if region else ""
    if code in _THROTTLED:
        retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        return ThrottledError(
            f"the AWS API{where} is throttling requests ({code}); gave up to {action} "
            f"after {int(retries) + 1} attempts",
            hint="wait a minute and run again, or allow more retries with --max-attempts "
            "(--retry-mode adaptive also slows down on its own)",
        )
    if code == "OptInRequired":
        return CredentialsMissingError(
            f"region {region or '(default)'} is not enabled for this account ({code}: {message})",
            hint="enable the region for the account, or leave it out of --region",
        )
    if code in _REJECTED:
        return CredentialsMissingError(
            f"the AWS API{where} rejected the credentials ({code}: {message})", hint=CREDENTIALS_HINT
        )
    if code in _NOT_ALLOWED:
        return CredentialsMissingError(
            f"these AWS credentials may not {action}{where} ({code})",
            hint="use credentials whose policy allows it (ec2:Describe*, ec2:RunInstances, ...)",
        )
    kind = _UNKNOWN.get(code)
    if kind is not None:
        value = (given or {}).get(kind)
        name = f"{kind} {value}" if value else kind
        return UnknownResourceError(
            f"{name} does not exist{where} ({code})",
            hint="check the id and the region (--region); ids are per region",
        )
    if code in {"InvalidParameterValue", "InvalidParameterCombination", "MissingParameter"}:
        return UsageError(f"cannot {action}{where}: {message} ({code})")
    suffix = " (retries exhausted)" if attempts else ""
    return CloudApiError(f"cannot {action}{where}: {code}: {message}{suffix}")


def jsonable(value: Any) -> Any:
    """boto3 responses → plain JSON types (datetimes in ISO 8601 with offset, as the aws CLI prints them)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
