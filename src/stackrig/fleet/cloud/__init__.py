"""Create and tear down a fleet on EC2 through boto3: ``fleet up`` and ``fleet down``.

A fleet is every instance tagged ``stackrig:fleet=NAME`` (and ``Name=NAME-<i>``) plus the
security group ``NAME-sg``. The modules, one step each:

- :mod:`~stackrig.fleet.cloud._ec2`: one region's EC2 client with the error mapping, fleet members;
- :mod:`~stackrig.fleet.cloud._security_group`: ``--rule`` parsing and the group's convergence;
- :mod:`~stackrig.fleet.cloud.up`: ``fleet up`` (instances converged, inventory written);
- :mod:`~stackrig.fleet.cloud.down`: ``fleet down`` (plan, consent at the CLI, execution).
"""

from __future__ import annotations

from stackrig.fleet._aws import RETRY_MODES, AwsTarget
from stackrig.fleet.cloud._ec2 import FLEET_TAG, FleetInstance
from stackrig.fleet.cloud._security_group import Rule, RuleChanges, parse_rule
from stackrig.fleet.cloud.down import DownPlan, DownResult, execute_down, fleet_down, plan_down
from stackrig.fleet.cloud.up import UpOutcome, UpResult, UpSettings, fleet_up, parse_tag, up_inventory

__all__ = [
    "FLEET_TAG",
    "RETRY_MODES",
    "AwsTarget",
    "DownPlan",
    "DownResult",
    "FleetInstance",
    "Rule",
    "RuleChanges",
    "UpOutcome",
    "UpResult",
    "UpSettings",
    "execute_down",
    "fleet_down",
    "fleet_up",
    "parse_rule",
    "parse_tag",
    "plan_down",
    "up_inventory",
]
