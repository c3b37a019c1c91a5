import subprocess
import sys


def test_a_lazy_module_is_imported_at_its_first_use_and_is_the_module():
    # in a fresh interpreter: this one may have imported anything already
    check = """
import sys
from training.common.lazy import lazy, load
wave = lazy("wave")
assert "wave" not in sys.modules, "named, not imported"
assert wave.WAVE_FORMAT_PCM == 1 and "wave" in sys.modules
colorsys = lazy("colorsys")
load(colorsys)
assert "colorsys" in sys.modules and colorsys.rgb_to_hsv(1, 0, 0) == (0, 1, 1)
from training.common.lazy import absent
absent("sklearn")
try:
    import sklearn
except ImportError:
    pass
else:
    raise AssertionError("sklearn imported though absent")
"""
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
