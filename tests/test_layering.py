"""Dependencies point one way: golden's integer model and hdl_gen import no torch."""

import subprocess
import sys


def imported_after(modules: str) -> set:
    code = f"import sys\nimport {modules}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_golden_integer_model_imports_neither_torch_nor_amaranth():
    loaded = imported_after("spikeforge.golden, spikeforge.golden.model, spikeforge.golden.ctt, "
                            "spikeforge.golden.datasets")
    assert "torch" not in loaded and "amaranth" not in loaded


def test_hdl_gen_and_sim_import_no_torch():
    loaded = imported_after("spikeforge.hdl_gen.emit, spikeforge.hdl_gen.cycle_model, "
                            "spikeforge.sim.runner")
    assert "torch" not in loaded and "amaranth" in loaded
