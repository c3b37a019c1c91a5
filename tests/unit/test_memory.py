"""The worker's malloc options (bentos/common/memory.py), each in a process of its own: a
screenshot's buffers are reused from request to request, and a huge image's memory still goes back
to the system."""

from __future__ import annotations

import json
import subprocess
import sys

# Decodes and letterboxes the generator's 1280x720 screenshot 40 times on two threads, as the
# wallhack service's decode threads do, then one solid 6000x6000 PNG; prints page faults per
# screenshot and the RSS before and after the large image.
PROBE = """
import io, json, resource, sys, threading
import psutil
from PIL import Image
from bentos.common import memory
from training.common.images import decode
from training.wallhack import data
from training.wallhack.serving import preprocess
if sys.argv[1] == "ours":
    assert memory.return_freed_memory()
else:
    import ctypes
    ctypes.CDLL("libc.so.6").mallopt(memory.M_MMAP_THRESHOLD, int(sys.argv[1]))
shot = data.sample(42, 4).image
def work():
    for _ in range(20):
        preprocess.letterbox(decode(shot))
work()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
threads = [threading.Thread(target=work) for _ in range(2)]
[t.start() for t in threads]; [t.join() for t in threads]
per_shot = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / 40
buffer = io.BytesIO(); Image.new("RGB", (6000, 6000), (9, 9, 9)).save(buffer, "PNG")
before = psutil.Process().memory_info().rss
preprocess.letterbox(decode(buffer.getvalue()))
print(json.dumps({"faults_per_shot": per_shot, "grown": psutil.Process().memory_info().rss - before}))
"""


def probe(setting: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, setting], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_a_screenshots_buffers_are_reused_and_a_huge_images_memory_is_returned():
    ours = probe("ours")
    assert ours["faults_per_shot"] < 200, ours  # pages already mapped: no zeroing by the kernel per request
    assert ours["grown"] < 64 * 2**20, ours  # the 6000x6000 image's 16 MB blocks were mapped, then unmapped


def test_the_probe_sees_the_faults_of_a_low_mmap_threshold():
    """The setting before, a 1 MB threshold: each screenshot's 3.7 MB buffers mapped afresh."""
    assert probe(str(1024 * 1024))["faults_per_shot"] > 500
