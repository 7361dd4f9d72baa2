"""Faucet: policies become port ACLs and meters in Faucet's YAML configuration.

A change is: load the YAML, change only stackrig's ACLs (``stackrig-<dp>-<port>``,
each rule tagged ``description: stackrig:<key>``) and meters (``stackrig-<key>``),
validate a copy with Faucet's own ``check_faucet_config``, replace the file
atomically, SIGHUP the running Faucet and wait until its Prometheus metric
``faucet_config_hash_info`` carries the new file's sha256. A config Faucet does
not take is put back as it was. When stackrig's ACL is the only one on a port
it ends with an allow-all rule (a port ACL otherwise drops what it does not match).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import signal
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackrig import _proc
from stackrig._io import atomic_write, read_text
from stackrig.errors import FailedError, MissingError, UsageError, WaitTimeoutError
from stackrig.qos.backends._base import BackendSpec, Observation, Orphan, Seen
from stackrig.qos.model import Policy, Service
from stackrig.qos.state import Installed, new_key
from stackrig.qos.topology import Topology

__all__ = ["FaucetBackend", "acl_rule", "config_hash"]

log = logging.getLogger("stackrig.qos")

TAG = "stackrig:"
ALLOW_ALL = {"rule": {"description": f"{TAG}allow-rest", "actions": {"allow": 1}}}


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def meter_entry(rate: int) -> dict[str, Any]:
    """A Faucet meter entry dropping above ``rate`` bit/s."""
    return {"flags": ["KBPS"], "bands": [{"type": "DROP", "rate": max(1, round(rate / 1000))}]}


def acl_rule(policy: Policy, key: str, meter: str | None) -> dict[str, Any]:
    """The Faucet ACL rule of a policy (matches use Faucet's/Ryu's field names)."""
    m = policy.match
    rule: dict[str, Any] = {"description": f"{TAG}{key}"}
    pairs = {
        "dl_type": m.eth_type,
        "nw_proto": m.ip_proto,
        "ipv4_src": m.ipv4_src,
        "ipv4_dst": m.ipv4_dst,
        "tcp_src": m.tcp_src,
        "tcp_dst": m.tcp_dst,
        "udp_src": m.udp_src,
        "udp_dst": m.udp_dst,
        "vlan_vid": m.vlan,
        "ip_dscp": m.dscp,
    }
    rule.update({k: v for k, v in pairs.items() if v is not None})
    act = policy.action
    if act.kind == "meter":
        rule["actions"] = {"meter": meter, "allow": 1}
    else:
        rule["actions"] = {"allow": 1, "output": {"set_fields": [{"ip_dscp": act.dscp}]}}
    return {"rule": rule}


def _pid_alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"faucet" in cmdline


@dataclass
class FaucetBackend:
    config: Path
    pid_file: Path | None
    metrics: str
    timeout: float = 20.0
    name: str = "faucet"

    @classmethod
    def from_spec(cls, spec: BackendSpec) -> FaucetBackend:
        if (
            spec.faucet_config is None or spec.faucet_metrics is None
        ):  # pragma: no cover - filled by resolve_spec
            raise UsageError("--backend faucet needs --faucet-config and --faucet-metrics")
        return cls(spec.faucet_config, spec.faucet_pid_file, spec.faucet_metrics, spec.timeout)

    @property
    def target(self) -> str:
        return str(self.config)

    def topology(self) -> Topology:
        from stackrig.qos.backends.ovs import local_topology

        doc = self._load()[1]
        wanted = {
            f"{int(dp.get('dp_id', 0)):016x}"
            for dp in (doc.get("dps") or {}).values()
            if isinstance(dp, dict)
        }
        topo = local_topology()
        keep = tuple(s for s in topo.switches if s in wanted)
        return Topology(
            keep,
            tuple(lk for lk in topo.links if lk.a in wanted and lk.b in wanted),
            tuple(h for h in topo.hosts if h.switch in wanted),
            {k: v for k, v in topo.bridges.items() if k in wanted},
        )

    # ------------------------------------------------------------ config handling

    def _load(self) -> tuple[str, dict[str, Any]]:
        text = read_text(self.config, what="Faucet config")
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"Faucet config {self.config} is not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise UsageError(f"Faucet config {self.config} is not a mapping")
        return text, doc

    def _pid(self) -> int:
        if self.pid_file is None:
            raise MissingError(
                "no running Faucet known: give --faucet-pid FILE",
                hint="or use a lab started with --controller faucet",
            )
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError) as exc:
            raise MissingError(f"cannot read Faucet's PID from {self.pid_file}: {exc}") from exc
        if not _pid_alive(pid):
            raise MissingError(
                f"Faucet (PID {pid} from {self.pid_file}) is not running", hint="start it, then retry"
            )
        return pid

    def _check(self, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".stackrig-check-", suffix=".yaml", dir=self.config.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            done = _proc.run(
                "check_faucet_config", [tmp], timeout=60, check=False, needed_for="qos --backend faucet"
            )
        finally:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
        if done.returncode != 0:
            # Faucet prints its verdict on stdout ([InvalidConfigError('...')]); stderr holds warnings.
            detail = _proc.tail(done.stdout, 3) or _proc.tail(done.stderr, 3)
            detail = detail.replace(tmp, str(self.config))
            raise UsageError(f"Faucet rejects the new configuration: {detail}")

    def _metric_hashes(self) -> str | None:
        try:
            with urllib.request.urlopen(self.metrics, timeout=2) as answer:  # noqa: S310 - a configured http URL
                text = answer.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError):
            return None
        lines = [line for line in text.splitlines() if line.startswith("faucet_config_hash_info{")]
        return "\n".join(lines)

    def _apply(self, old: str, new: str) -> None:
        """Validate, write, reload and wait for Faucet to report the new hash; put ``old`` back on failure."""
        pid = self._pid()
        self._check(new)
        atomic_write(self.config, new)
        try:
            os.kill(pid, signal.SIGHUP)
            self._wait_hash(config_hash(new))
        except BaseException:
            atomic_write(self.config, old)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGHUP)
            raise

    def _wait_hash(self, digest: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            seen = self._metric_hashes()
            if seen and digest in seen:
                return
            time.sleep(0.1)
        raise WaitTimeoutError(
            f"Faucet did not apply the new configuration within {self.timeout:g} s "
            f"(no faucet_config_hash_info with its sha256 at {self.metrics})",
            hint="check Faucet's log; the previous configuration was put back",
        )

    @staticmethod
    def _dp_name(doc: dict[str, Any], dpid: str) -> str:
        for name, dp in (doc.get("dps") or {}).items():
            if isinstance(dp, dict) and f"{int(dp.get('dp_id', -1)):016x}" == dpid:
                return str(name)
        raise UsageError(f"the Faucet config has no dp with dp_id {int(dpid, 16)} ({dpid})")

    @staticmethod
    def _interface(doc: dict[str, Any], dp: str, port: int) -> dict[str, Any]:
        interfaces = doc["dps"][dp].get("interfaces") or {}
        for key, iface in interfaces.items():
            if isinstance(iface, dict) and (str(key) == str(port) or str(iface.get("number")) == str(port)):
                return iface
        raise UsageError(f"Faucet dp {dp} has no interface {port}")

    def _rebuild_acl(self, doc: dict[str, Any], dp: str, port: int, rules: list[dict[str, Any]]) -> None:
        acl = f"stackrig-{dp}-{port}"
        acls = doc.setdefault("acls", {}) or {}
        doc["acls"] = acls
        iface = self._interface(doc, dp, port)
        current = iface.get("acls_in") or ([iface["acl_in"]] if iface.get("acl_in") else [])
        others = [a for a in current if a != acl]
        if rules:
            acls[acl] = rules + ([] if others else [copy.deepcopy(ALLOW_ALL)])
            iface.pop("acl_in", None)
            iface["acls_in"] = [acl, *others]
        else:
            acls.pop(acl, None)
            iface.pop("acl_in", None)
            if others:
                iface["acls_in"] = others
            else:
                iface.pop("acls_in", None)
        if not acls:
            doc.pop("acls", None)

    # ------------------------------------------------------------ protocol

    def push(self, policies: Sequence[Policy], taken: Sequence[Installed]) -> list[Installed]:
        old, doc = self._load()
        meters = doc.setdefault("meters", {}) or {}
        doc["meters"] = meters
        used_ids = {int(m.get("meter_id", 0)) for m in meters.values() if isinstance(m, dict)}
        out: list[Installed] = []
        touched: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for policy in policies:
            if policy.action.kind == "queue":
                raise UsageError(
                    f"policy {policy.name}: Faucet ACLs have no queue action",
                    hint="use --rate (a meter) with Faucet",
                )
            if policy.match.in_port is None:
                raise UsageError(f"policy {policy.name}: Faucet applies ACLs per port: set match.in_port")
            dp = self._dp_name(doc, policy.switch)
            key = new_key()
            meter_name = None
            if policy.action.kind == "meter":
                meter_id = next(i for i in range(1, 2**31) if i not in used_ids)
                used_ids.add(meter_id)
                meter_name = f"stackrig-{key}"
                meters[meter_name] = {"meter_id": meter_id, "entry": meter_entry(policy.action.rate or 0)}
            port = policy.match.in_port
            slot = (dp, port)
            if slot not in touched:
                existing = ((doc.get("acls") or {}).get(f"stackrig-{dp}-{port}")) or []
                touched[slot] = [r for r in existing if r != ALLOW_ALL]
            touched[slot].append(acl_rule(policy, key, meter_name))
            ids = {"dp": dp, "port": str(port), "rule": f"{TAG}{key}"}
            if meter_name:
                ids["meter"] = meter_name
            out.append(Installed(key, policy, self.name, self.target, ids))
        for (dp, port), rules in touched.items():
            self._rebuild_acl(doc, dp, port, rules)
        if not meters:
            doc.pop("meters", None)
        self._apply(old, yaml.safe_dump(doc, sort_keys=False))
        return out

    def delete(self, installed: Sequence[Installed]) -> None:
        if not installed:
            return
        old, doc = self._load()
        tags = {r.ids["rule"] for r in installed}
        slots = {(r.ids["dp"], int(r.ids["port"])) for r in installed}
        acls = doc.get("acls") or {}
        for dp, port in slots:
            existing = acls.get(f"stackrig-{dp}-{port}") or []
            keep = [
                r for r in existing if r != ALLOW_ALL and (r.get("rule") or {}).get("description") not in tags
            ]
            if dp in (doc.get("dps") or {}):
                with contextlib.suppress(UsageError):
                    self._rebuild_acl(doc, dp, port, keep)
        meters = doc.get("meters") or {}
        for record in installed:
            meters.pop(record.ids.get("meter", ""), None)
        if "meters" in doc and not meters:
            doc.pop("meters")
        self._apply(old, yaml.safe_dump(doc, sort_keys=False))

    def observe(self, installed: Sequence[Installed], *, orphans: bool = False) -> Observation:
        """The config file against the records: the rule (by its ``stackrig:<key>`` description),
        the port's ``acls_in`` and the meter's entry."""
        if not self.config.exists():
            return Observation(
                {r.key: Seen("missing", f"Faucet config {self.config} is gone") for r in installed}
            )
        _text, doc = self._load()
        return Observation({r.key: _seen_in(doc, r) for r in installed})

    def delete_orphans(self, orphans: Sequence[Orphan]) -> None:
        return None

    def add_service(self, service: Service) -> dict[str, str]:
        return {}

    def delete_service(self, service: Service) -> None:
        return None


def _seen_in(doc: dict[str, Any], record: Installed) -> Seen:
    dp, port, tag = record.ids.get("dp", ""), record.ids.get("port", ""), record.ids.get("rule", "")
    acl = f"stackrig-{dp}-{port}"
    rules = (doc.get("acls") or {}).get(acl) or []
    mine = [r for r in rules if isinstance(r, dict) and (r.get("rule") or {}).get("description") == tag]
    if not mine:
        return Seen("missing", f"no rule {tag} in ACL {acl}")
    meter = record.ids.get("meter")
    # The rule carries the key it was pushed with (a rollback or sync keeps the record's older key).
    expected = acl_rule(record.policy, tag.removeprefix(TAG), meter)
    if mine[0] != expected:
        return Seen("changed", f"rule {tag} in ACL {acl} differs from the record")
    try:
        applied = FaucetBackend._interface(doc, dp, int(port)).get("acls_in") or []
    except (UsageError, KeyError, TypeError, ValueError):
        return Seen("missing", f"Faucet dp {dp} has no interface {port}")
    if acl not in applied:
        return Seen("changed", f"ACL {acl} is not applied to port {port} of {dp}")
    if meter is not None:
        entry = ((doc.get("meters") or {}).get(meter) or {}).get("entry")
        if entry != meter_entry(record.policy.action.rate or 0):
            return Seen("changed", f"meter {meter} is not the recorded {record.policy.action.describe()}")
    return Seen("present")


def wait_metrics(url: str, timeout: float) -> None:
    """Wait until Faucet's Prometheus endpoint answers with a config hash."""
    probe = FaucetBackend(Path("/nonexistent"), None, url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe._metric_hashes():
            return
        time.sleep(0.1)
    raise FailedError(f"Faucet's metrics at {url} did not come up within {timeout:g} s")
