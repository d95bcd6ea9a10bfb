"""tools/package builds the Debian package from the binary under test, in a temporary directory.

Goal: the .deb holds exactly the files an operator needs (binary, unit, default configuration as a
conffile, sysusers.d entry, kernel-tuning files, man page, README), the same set `meson install`
installs, with the control fields and maintainer scripts apt needs to install and start it. It
reads the package with dpkg-deb only; nothing is installed on this machine.
"""

import json
import os
import shutil
import subprocess
import tempfile

import harness

EXPECTED_FILES = {
    "/etc/sluice/server.properties",
    "/lib/systemd/system/sluice.service",
    "/usr/bin/sluice",
    "/usr/lib/sysusers.d/sluice.conf",
    "/usr/share/doc/sluice/README.md",
    "/usr/share/man/man1/sluice.1.gz",
    "/usr/share/sluice/kernel-tuning/60-sluice.rules",
    "/usr/share/sluice/kernel-tuning/99-sluice.conf",
    "/usr/share/sluice/kernel-tuning/README.md",
    "/usr/share/sluice/kernel-tuning/sluice-thp.conf",
}


def build_package(out):
    if shutil.which("dpkg-deb") is None or shutil.which("dpkg-shlibdeps") is None:
        raise harness.Skip("dpkg-deb or dpkg-shlibdeps missing (tools/setup installs dpkg-dev)")
    p = harness.run([os.path.join(harness.REPO, "tools", "package"), "--binary", harness.SLUICE_BIN, "--out", out],
                    timeout_s=300)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    assert p.stdout.decode().strip().endswith(debs[0])
    return os.path.join(out, debs[0])


def contents(deb):
    """{path: (mode string, owner)} of the regular files and links in the package."""
    out = harness.run(["dpkg-deb", "-c", deb]).stdout.decode()
    files = {}
    for line in out.splitlines():
        parts = line.split()
        mode, owner, path = parts[0], parts[1], parts[5]
        if mode.startswith("d"):
            continue
        files[path[1:] if path.startswith("./") else path] = (mode, owner)
    return files


def control_fields(deb):
    text = harness.run(["dpkg-deb", "-f", deb]).stdout.decode()
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith(" ") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def meson_installed():
    """The install paths `meson install` would use, from the build dir of SLUICE_BIN, with its
    prefix mapped to /usr (the package's prefix); None when that is not a meson build dir."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(harness.SLUICE_BIN)))
    if not os.path.isdir(os.path.join(build, "meson-info")):
        return None
    installed = json.loads(harness.run(["meson", "introspect", build, "--installed"]).stdout)
    options = json.loads(harness.run(["meson", "introspect", build, "--buildoptions"]).stdout)
    prefix = next(o["value"] for o in options if o["name"] == "prefix")
    sysconf = next(o["value"] for o in options if o["name"] == "sysconfdir")
    paths = set()
    for path in installed.values():
        if not os.path.isabs(sysconf) and path.startswith(os.path.join(prefix, sysconf) + "/"):
            path = "/etc/" + path[len(os.path.join(prefix, sysconf)) + 1:]
        elif path.startswith(prefix + "/"):
            path = "/usr/" + path[len(prefix) + 1:]
        paths.add(path)
    return paths


@harness.timeout(300)
def test_package_file_list_and_control():
    out = tempfile.mkdtemp(prefix="sluice-package-", dir=harness.tmp_root())
    try:
        deb = build_package(out)
        files = contents(deb)
        assert set(files) == EXPECTED_FILES, sorted(set(files) ^ EXPECTED_FILES)
        assert files["/usr/bin/sluice"][0] == "-rwxr-xr-x"
        assert all(owner == "root/root" for _, owner in files.values()), files
        fields = control_fields(deb)
        assert fields["Package"] == "sluice"
        assert fields["Architecture"] == harness.run(["dpkg", "--print-architecture"]).stdout.decode().strip()
        assert fields["Version"].endswith("-1") and fields["Version"][0].isdigit()
        for library in ("libc6", "liburing2", "libsystemd0", "adduser"):
            assert library in fields["Depends"], fields["Depends"]
        # Maintainer scripts and the conffile list, as dpkg reads them.
        extract = os.path.join(out, "control")
        harness.run(["dpkg-deb", "-e", deb, extract])
        with open(os.path.join(extract, "conffiles")) as f:
            assert f.read().split() == ["/etc/sluice/server.properties"]
        for script in ("postinst", "prerm", "postrm"):
            assert os.access(os.path.join(extract, script), os.X_OK), script
        with open(os.path.join(extract, "postinst")) as f:
            postinst = f.read()
        assert "adduser" in postinst and "enable sluice.service" in postinst and "start sluice.service" in postinst
        # The payload: the unit as in the repository, the configuration pointing at the state dir.
        tree = os.path.join(out, "tree")
        harness.run(["dpkg-deb", "-x", deb, tree])
        with open(os.path.join(tree, "lib/systemd/system/sluice.service")) as f, \
                open(os.path.join(harness.REPO, "tools/systemd/sluice.service")) as g:
            assert f.read() == g.read()
        with open(os.path.join(tree, "etc/sluice/server.properties")) as f:
            properties = f.read()
        assert "\nlog.dirs=/var/lib/sluice\n" in properties, properties
        p = harness.run([os.path.join(tree, "usr/bin/sluice"), "--version"])
        assert p.stdout.decode().startswith("sluice "), p.stdout
        # meson install installs the same files (the man page uncompressed), and the same
        # configuration once its build dir has generated it.
        meson_paths = meson_installed()
        if meson_paths is not None:
            packaged = {p[:-3] if p.endswith(".1.gz") else p for p in files}
            assert meson_paths == packaged, sorted(meson_paths ^ packaged)
            build = os.path.dirname(os.path.dirname(os.path.dirname(harness.SLUICE_BIN)))
            generated = os.path.join(build, "tools", "install", "server.properties")
            harness.run(["ninja", "-C", build, "tools/install/server.properties"], timeout_s=120)
            with open(generated) as f:
                assert f.read() == properties, "meson's server.properties differs from the package's"
    finally:
        shutil.rmtree(out, ignore_errors=True)
