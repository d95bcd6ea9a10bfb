"""`sluice tune check|apply` against a fake /proc and /sys tree (--root), built here with some
settings as Sluice wants them and some off.

Goal: check prints the right status for each kind of setting and exits non-zero while any is off;
apply --dry-run prints the exact writes and changes nothing; apply changes the tree so that check
then passes; --persist writes the sysctl.d file, udev rule and tmpfiles.d line that kernel-tuning/
ships; apply refuses politely where it lacks permission.
"""

import os
import shutil
import subprocess
import tempfile

import harness

KERNEL_TUNING = os.path.join(harness.REPO, "kernel-tuning")

# Relative path -> contents. Off on purpose: swappiness, dirty_*, somaxconn, tcp_wmem's middle
# value, THP enabled, nvme0n1's scheduler, sda's read-ahead, the clock source, IRQ 24's affinity.
FAKE_TREE = {
    "proc/sys/vm/swappiness": "60\n",
    "proc/sys/vm/dirty_background_bytes": "0\n",
    "proc/sys/vm/dirty_bytes": "0\n",
    "proc/sys/vm/max_map_count": "1048576\n",
    "proc/sys/fs/file-max": "9223372036854775807\n",
    "proc/sys/fs/nr_open": "1048576\n",
    "proc/sys/fs/aio-max-nr": "65536\n",
    "proc/sys/fs/pipe-max-size": "1048576\n",
    "proc/sys/net/core/somaxconn": "128\n",
    "proc/sys/net/ipv4/tcp_max_syn_backlog": "8192\n",
    "proc/sys/net/core/rmem_max": "16777216\n",
    "proc/sys/net/core/wmem_max": "33554432\n",
    "proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t33554432\n",
    "proc/sys/net/ipv4/tcp_wmem": "4096\t16384\t16777216\n",
    "proc/sys/net/ipv4/tcp_slow_start_after_idle": "0\n",
    "proc/sys/net/core/busy_read": "0\n",
    "proc/sys/net/core/busy_poll": "0\n",
    # kernel/io_uring_disabled is missing: an older kernel (n/a).
    "proc/sys/kernel/osrelease": "6.1.0-18-amd64\n",
    "proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=domain,managed_irq,2-3\n",
    "proc/irq/24/smp_affinity_list": "0-3\n",
    "proc/irq/25/smp_affinity_list": "0-1\n",
    "proc/irq/default_smp_affinity": "f\n",
    "sys/kernel/mm/transparent_hugepage/enabled": "[always] madvise never\n",
    "sys/kernel/mm/transparent_hugepage/defrag": "always defer defer+madvise [madvise] never\n",
    "sys/block/nvme0n1/queue/scheduler": "[mq-deadline] kyber none\n",
    "sys/block/nvme0n1/queue/rotational": "0\n",
    "sys/block/nvme0n1/queue/read_ahead_kb": "128\n",
    "sys/block/sda/queue/scheduler": "none [mq-deadline] bfq\n",
    "sys/block/sda/queue/rotational": "1\n",
    "sys/block/sda/queue/read_ahead_kb": "16\n",
    "sys/block/loop0/queue/scheduler": "[none] mq-deadline\n",
    "sys/block/loop0/queue/rotational": "0\n",
    "sys/devices/system/clocksource/clocksource0/current_clocksource": "hpet\n",
    "sys/devices/system/clocksource/clocksource0/available_clocksource": "tsc hpet acpi_pm\n",
    "sys/devices/system/cpu/online": "0-3\n",
}

EXPECTED_STATUS = {
    "vm.swappiness": "off", "vm.dirty_background_bytes": "off", "vm.dirty_bytes": "off",
    "vm.max_map_count": "ok", "fs.file-max": "ok", "fs.nr_open": "ok", "fs.aio-max-nr": "ok",
    "kernel.io_uring_disabled": "n/a", "fs.pipe-max-size": "ok", "net.core.somaxconn": "off",
    "net.ipv4.tcp_max_syn_backlog": "ok", "net.core.rmem_max": "ok", "net.core.wmem_max": "ok",
    "net.ipv4.tcp_rmem": "ok", "net.ipv4.tcp_wmem": "off", "net.ipv4.tcp_slow_start_after_idle": "ok",
    "net.core.busy_read": "ok", "net.core.busy_poll": "ok", "thp.enabled": "off", "thp.defrag": "ok",
    "block.nvme0n1.scheduler": "off", "block.nvme0n1.read_ahead_kb": "ok",
    "block.sda.scheduler": "ok", "block.sda.read_ahead_kb": "off", "clocksource": "off",
    "io_uring.memlock": "ok", "irq.24.affinity": "off", "cmdline.isolcpus": "ok",
    "cmdline.nohz_full": "advice",
}

EXPECTED_WRITES = [
    "proc/sys/vm/swappiness 1",
    "proc/sys/vm/dirty_background_bytes 134217728",
    "proc/sys/vm/dirty_bytes 1073741824",
    "proc/sys/net/core/somaxconn 4096",
    "proc/sys/net/ipv4/tcp_wmem 4096 65536 16777216",
    "sys/kernel/mm/transparent_hugepage/enabled madvise",
    "sys/block/nvme0n1/queue/scheduler none",
    "sys/block/sda/queue/read_ahead_kb 128",
    "sys/devices/system/clocksource/clocksource0/current_clocksource tsc",
    "proc/irq/24/smp_affinity_list 0-1",
]


def make_tree(parent=None):
    root = tempfile.mkdtemp(prefix="sluice-tune-", dir=parent or harness.tmp_root())
    for rel, text in FAKE_TREE.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return root


def snapshot(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path) as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def tune(*args, check=False, preexec=None):
    cmd = [harness.SLUICE_BIN, "tune"] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, preexec_fn=preexec)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def statuses(text):
    """{setting: status} from check's report (the lines that are not 'why:' lines)."""
    found = {}
    for line in text.splitlines()[1:]:
        if line.startswith(" ") or not line.strip() or "settings checked" in line:
            continue
        words = line.split()
        found[words[1]] = words[0]
    return found


def test_check_reports_each_setting_against_fake_tree():
    root = make_tree()
    try:
        code, out, err = tune("check", "--root", root, "--cpus", "2-3")
        assert code == 1, (code, out, err)
        found = statuses(out)
        for name, status in EXPECTED_STATUS.items():
            assert found.get(name) == status, "%s: expected %s, got %s\n%s" % (name, status, found.get(name), out)
        assert "block.loop0.scheduler" not in found, "loop devices are not tuned"
        assert "irq.25.affinity" not in found, "IRQ 25 already avoids cpus 2-3"
        # Current and wanted values and a reason with its source are printed for each.
        lines = out.splitlines()
        i = next(n for n, l in enumerate(lines) if l.split()[1:2] == ["vm.swappiness"])
        assert lines[i].split()[2:4] == ["60", "<="], lines[i]
        assert lines[i + 1].strip().startswith("why: ") and "Source:" in lines[i + 1], lines[i + 1]
        assert "off" in lines[-1] and "settings checked" in lines[-1]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_apply_dry_run_prints_exact_writes_and_changes_nothing():
    root = make_tree()
    try:
        before = snapshot(root)
        code, out, err = tune("apply", "--dry-run", "--root", root, "--cpus", "2-3")
        assert code == 0, (code, out, err)
        writes = [l[len("write "):] for l in out.splitlines() if l.startswith("write ")]
        expected = ["%s/%s" % (root, w) for w in EXPECTED_WRITES]
        assert sorted(writes) == sorted(expected), "\n".join(writes)
        assert "# manual: cmdline.nohz_full" in out, out
        assert snapshot(root) == before
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_apply_fixes_fake_tree_and_persist_matches_kernel_tuning():
    root = make_tree()
    try:
        code, out, err = tune("apply", "--persist", "--root", root, "--cpus", "2-3")
        assert code == 0, (code, out, err)
        assert len([l for l in out.splitlines() if l.startswith("wrote ")]) == len(EXPECTED_WRITES), out
        with open(os.path.join(root, "proc/sys/vm/swappiness")) as f:
            assert f.read() == "1\n"
        with open(os.path.join(root, "proc/irq/24/smp_affinity_list")) as f:
            assert f.read() == "0-1\n"
        code, out, err = tune("check", "--root", root, "--cpus", "2-3")
        assert code == 0, (code, out, err)
        # Persisted files: udev rule and tmpfiles.d line are the ones kernel-tuning/ ships; the
        # sysctl file keeps the host's larger values (fs.file-max here) and takes the profile's
        # for the rest.
        for rel, shipped in [("etc/udev/rules.d/60-sluice.rules", "60-sluice.rules"),
                             ("etc/tmpfiles.d/sluice-thp.conf", "sluice-thp.conf")]:
            with open(os.path.join(root, rel)) as f, open(os.path.join(KERNEL_TUNING, shipped)) as g:
                assert f.read() == g.read(), rel
        with open(os.path.join(root, "etc/sysctl.d/99-sluice.conf")) as f:
            persisted = f.read()
        assert "\nfs.file-max = 9223372036854775807\n" in persisted
        assert "\nvm.swappiness = 1\n" in persisted
        assert "\nnet.ipv4.tcp_rmem = 4096 131072 33554432\n" in persisted
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_persist_on_empty_root_is_the_shipped_profile():
    """With nothing to read, every value is the profile's: the bytes of kernel-tuning/."""
    root = tempfile.mkdtemp(prefix="sluice-tune-empty-", dir=harness.tmp_root())
    try:
        code, out, err = tune("apply", "--persist", "--root", root)
        assert code == 0, (code, out, err)
        for rel, shipped in [("etc/sysctl.d/99-sluice.conf", "99-sluice.conf"),
                             ("etc/udev/rules.d/60-sluice.rules", "60-sluice.rules"),
                             ("etc/tmpfiles.d/sluice-thp.conf", "sluice-thp.conf")]:
            with open(os.path.join(root, rel)) as f, open(os.path.join(KERNEL_TUNING, shipped)) as g:
                assert f.read() == g.read(), "%s differs from kernel-tuning/%s: regenerate it" % (rel, shipped)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_pinned_cores_from_config():
    root = make_tree()
    try:
        props = os.path.join(root, "server.properties")
        with open(props, "w") as f:
            f.write("network.cpus=2\nio.cpus=3\n")
        code, out, err = tune("check", "--root", root, "--config", props)
        assert statuses(out).get("irq.24.affinity") == "off", out
        assert "isolcpus=domain,managed_irq,2-3" in out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def test_apply_refuses_politely_without_permission():
    """As an unprivileged user: apply on the real host refuses before writing anything, and on a
    tree it may not write it reports each refused write and exits 4."""
    if os.geteuid() != 0:
        code, out, err = tune("apply")
    else:
        code, out, err = tune("apply", preexec=_as_nobody)
    assert code == 4, (code, out, err)
    assert "needs root" in err and "--dry-run" in err, err
    assert "wrote " not in out
    if os.geteuid() != 0:
        raise harness.Skip("not root: the per-write refusal on a root-owned tree was not exercised")
    root = make_tree("/tmp")  # the runner's own temp directory is not open to other users
    try:
        os.chmod(root, 0o755)
        for dirpath, dirs, files in os.walk(root):
            for d in dirs:
                os.chmod(os.path.join(dirpath, d), 0o755)
            for name in files:
                os.chmod(os.path.join(dirpath, name), 0o644)
        before = snapshot(root)
        code, out, err = tune("apply", "--root", root, "--cpus", "2-3", preexec=_as_nobody)
        assert code == 4, (code, out, err)
        assert "Permission denied" in out and "lack of permission" in err, (out, err)
        assert snapshot(root) == before
    finally:
        shutil.rmtree(root, ignore_errors=True)
