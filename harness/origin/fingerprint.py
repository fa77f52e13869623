"""Where a record was made: the machine as its kernel reports it, and an id that tells
machines apart. A speed ratio exists only between runs of one machine id."""

from __future__ import annotations

import dataclasses
import os
import platform
from pathlib import Path

from harness.record.schema import Fingerprint, machine_id_of


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# The instruction sets that decide which kernels oneDNN, XNNPACK, Eigen and OpenBLAS pick,
# as /proc/cpuinfo names them.
KERNEL_ISA = (
    "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
)  # fmt: skip


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def fingerprint() -> Fingerprint:
    """This machine as its kernel reports it, with an id derived from all of it and its
    CPU model, CPU count, platform and host name: two runs share the id only on one kind
    of machine, kernel build and host. Asked by the worker for its record and by `tune`
    and `run` in the parent for the tuning record that fits."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    measured = Fingerprint(
        machine_id="",
        vendor=info.get("vendor_id", "unknown"),
        family=_number(info.get("cpu family")),
        model=_number(info.get("model")),
        stepping=_number(info.get("stepping")),
        isa=[name for name in KERNEL_ISA if name in flags],
        memory_gib=_memory_gib(),
        kernel=os.uname().release,
        vm="hypervisor" in flags,
    )
    found = machine_id_of(
        dataclasses.asdict(measured), cpu_model(), os.cpu_count(), platform.platform(),
        platform.node(),
    )  # fmt: skip
    return dataclasses.replace(measured, machine_id=found)
