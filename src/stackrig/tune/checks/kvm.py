"""kvm: /dev/kvm exists, the vendor module is loaded, and the nested setting is known."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Finding, Profile, Severity, Status
from stackrig.tune.checks._base import Check

_MODULES = ("kvm_intel", "kvm_amd", "kvm_pvm")


def _vendor(host: Host) -> tuple[str, str]:
    """(expected module, CPU virtualisation flag) from /proc/cpuinfo."""
    cpuinfo = host.read_optional("proc/cpuinfo") or ""
    flags: set[str] = set()
    vendor = ""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "vendor_id" and not vendor:
            vendor = value.strip()
        elif name == "flags" and not flags:
            flags = set(value.split())
    if vendor == "AuthenticAMD" or "svm" in flags:
        return "kvm_amd", "svm" if "svm" in flags else ""
    return "kvm_intel", "vmx" if "vmx" in flags else ""


class Kvm(Check):
    id = "kvm"
    title = "KVM is available to Nova's libvirt driver"
    severity = Severity.HIGH
    rationale = (
        "Without /dev/kvm and the CPU vendor's KVM module, libvirt falls back to QEMU's software "
        "emulation (virt_type=qemu), many times slower; nested virtualization lets guests run hypervisors."
    )
    source = (
        "Linux kernel docs: Documentation/virt/kvm/api.rst, x86/running-nested-guests.rst; "
        "Nova docs: admin/configuration/hypervisor-kvm"
    )

    def check(self, host: Host) -> Iterable[Finding]:
        if host.profile is Profile.GUEST:
            return [self.finding(Status.NA, current="-", expected="-", reason="a guest does not need KVM")]
        wanted, flag = _vendor(host)
        findings = []
        if host.exists("dev/kvm"):
            findings.append(
                self.finding(Status.PASS, current="/dev/kvm present", expected="present", key="device")
            )
        else:
            findings.append(
                self.finding(
                    Status.FAIL,
                    current="/dev/kvm missing",
                    expected="present",
                    reason="no KVM device: guests would run emulated",
                    fix=f"modprobe {wanted}",
                    key="device",
                )
            )
        modules = host.listdir("sys/module")
        loaded = [m for m in _MODULES if m in modules]
        if loaded:
            findings.append(
                self.finding(
                    Status.PASS,
                    current=f"{', '.join(loaded)} loaded",
                    expected=f"{wanted} (or kvm_pvm)",
                    key="module",
                )
            )
        else:
            reason = f"{wanted} is not loaded"
            if not flag:
                reason += "; the CPU shows no vmx/svm flag (enable VT-x/AMD-V in the firmware)"
            findings.append(
                self.finding(
                    Status.FAIL,
                    current="no KVM vendor module",
                    expected=f"{wanted} (or kvm_pvm)",
                    reason=reason,
                    fix=f"modprobe {wanted}",
                    key="module",
                )
            )
        module = loaded[0] if loaded else wanted
        nested = host.read_optional(f"sys/module/{module}/parameters/nested")
        if nested is None:
            findings.append(
                self.finding(
                    Status.NA,
                    current="-",
                    expected="off unless guests run hypervisors",
                    reason=f"{module} has no nested parameter",
                    key="nested",
                )
            )
        else:
            on = nested.strip() in ("Y", "1")
            findings.append(
                self.finding(
                    Status.PASS,
                    current=f"nested={nested.strip()} ({'on' if on else 'off'})",
                    expected="off unless guests run hypervisors",
                    reason="guests may run their own hypervisors" if on else "",
                    key="nested",
                )
            )
        return findings
