"""Shopify/sarama (Go, Debian's golang-github-shopify-sarama-dev 1.22) against the real broker:
ClusterAdmin CreateTopic, an async producer with each codec (keys, headers, timestamps), and a
partition consumer reading everything back (sarama/main.go does the checking).  Skipped when
Go or the sarama package is missing (tools/setup installs golang-go
and golang-github-shopify-sarama-dev); built offline in GOPATH mode and cached by source hash."""

import hashlib
import os
import shutil

import harness
from harness import Broker, run

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "sarama", "main.go")
GOPATH = "/usr/share/gocode"
CACHE = os.path.join(os.environ.get("SLUICE_IT_CACHE", "/tmp/sluice-it-cache"))


def sarama_binary():
    go = shutil.which("go")
    if not go:
        raise harness.Skip("Go not installed (apt-get install golang-go golang-github-shopify-sarama-dev)")
    if not os.path.isdir(os.path.join(GOPATH, "src", "github.com", "Shopify", "sarama")):
        raise harness.Skip("sarama not installed (apt-get install golang-github-shopify-sarama-dev)")
    with open(SOURCE, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:16]
    out_dir = os.path.join(CACHE, "sarama-" + digest)
    binary = os.path.join(out_dir, "sarama_check")
    if os.access(binary, os.X_OK):
        return binary
    os.makedirs(out_dir, exist_ok=True)
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="",
               GOCACHE=os.path.join(CACHE, "gocache"), GOPROXY="off")
    tmp = binary + ".tmp.%d" % os.getpid()
    run([go, "build", "-o", tmp, SOURCE], timeout_s=300, env=env)
    os.replace(tmp, binary)
    return binary


def _make(codec):
    @harness.timeout(240)
    def test():
        binary = sarama_binary()
        with Broker({"num.partitions": 1}, name="sarama-" + codec) as b:
            p = run([binary, b.bootstrap, "sarama-" + codec, codec, "3", "1500"], timeout_s=150,
                    check=False)
            out = p.stdout.decode(errors="replace").strip()
            if codec == "zstd":
                # sarama 1.22 sends zstd in Produce v3; Kafka accepts zstd only from Produce v7
                # and answers UNSUPPORTED_COMPRESSION_TYPE, which sarama reports like this.
                assert "does not support the compression type" in out, \
                    "sarama zstd over Produce v3 should get UNSUPPORTED_COMPRESSION_TYPE: %s" % out
                b.assert_alive()
                return
            assert p.returncode == 0 and out.startswith("OK "), \
                "sarama (%s): %s\n%s" % (codec, out, p.stderr.decode(errors="replace")[-2000:])
            assert out == "OK 1500", out
            b.assert_alive()
    test.__name__ = "test_roundtrip_%s" % codec
    return test


for _codec in harness.CODECS:
    globals()["test_roundtrip_%s" % _codec] = _make(_codec)
