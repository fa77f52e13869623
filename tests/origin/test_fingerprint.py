"""Where a record was made (harness/origin/fingerprint.py): the machine's
fingerprint and its id."""

import os

from harness.origin import fingerprint

CPUINFO = {"vendor_id": "AuthenticAMD", "cpu family": "25", "model": "17", "stepping": "1",
           "flags": "fpu sse avx2 fma avx512f avx512_bf16 hypervisor sha_ni"}  # fmt: skip


def _fingerprint(monkeypatch, cpuinfo=CPUINFO, kernel="6.1.0-v669", host="vm"):
    monkeypatch.setattr(fingerprint, "_cpuinfo", lambda: cpuinfo)
    monkeypatch.setattr(fingerprint, "_memory_gib", lambda: 23.5)
    monkeypatch.setattr(
        fingerprint.os, "uname", lambda: os.uname_result(("L", host, kernel, "", ""))
    )
    monkeypatch.setattr(fingerprint.platform, "node", lambda: host)
    return fingerprint.fingerprint()


def test_fingerprint_reads_the_cpu_and_keeps_the_instruction_sets_that_pick_kernels(
    monkeypatch,
):
    f = _fingerprint(monkeypatch)
    assert (f.vendor, f.family, f.model, f.stepping) == ("AuthenticAMD", 25, 17, 1)
    assert f.isa == ["avx2", "fma", "avx512f", "avx512_bf16"]
    assert f.vm and f.kernel == "6.1.0-v669" and f.memory_gib == 23.5


def test_one_machine_one_id_another_kernel_build_cpu_or_host_another(monkeypatch):
    same = _fingerprint(monkeypatch).machine_id
    assert _fingerprint(monkeypatch).machine_id == same
    assert _fingerprint(monkeypatch, kernel="6.1.0-v1045").machine_id != same
    assert _fingerprint(monkeypatch, host="other").machine_id != same
    no_avx512 = {**CPUINFO, "flags": "fpu avx2 fma hypervisor"}
    assert _fingerprint(monkeypatch, cpuinfo=no_avx512).machine_id != same
