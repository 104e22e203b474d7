"""The run report: JSON with every figure's source, and HTML that renders."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from spikewright.cli import main
from spikewright.sweep import pareto_front

@pytest.mark.dataset
@pytest.mark.sim
@pytest.mark.synth
@pytest.mark.slow
def test_run_writes_a_report_that_renders_in_a_headless_browser(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--limit", "200", "--verify-images", "10", "--targets",
                 "ice40-up5k,xc7a35t", "-q", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "spikewright-report"
    assert report["accuracy"]["snn_golden"]["value"] > 0.95
    assert report["accuracy"]["rtl"]["source"].startswith("verilator")
    assert report["synthesis"]["ice40-up5k"]["fits"] is False
    assert report["verification"]["mismatches"] == 0
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 2
    chromium = shutil.which("chromium")
    assert chromium, "chromium not found; run ./setup.sh (it installs Debian's chromium)"
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1200,2400", f"--screenshot={shot}",
                    (out / "report.html").as_uri()], check=True, capture_output=True, timeout=120)
    from PIL import Image
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # the plots are drawn: many pixels in the bars' and histogram's blue (#4a78b5)
    blue = (np.abs(image - np.array([0x4a, 0x78, 0xb5])).sum(axis=2) < 30).sum()
    assert blue > 5000, blue


def test_report_plots_a_sweep_and_names_every_source(tmp_path):
    from spikewright.report import write_report
    evaluation = {"dataset": "mnist", "split": "test", "images": 10, "timesteps": 1,
                  "network_digest": "ab" * 32, "model": "m",
                  "accuracy": {"ann_float": 0.9, "ann_quant": 0.95, "snn_golden": 0.94},
                  "spikes_per_image": {"total": 100.0}, "synops_per_image": {"total": 1000.0}}
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    (tmp_path / "stream.json").write_text(json.dumps({
        "latency_cycles": [100, 120, 140], "interval_cycles": 90.0,
        "stage_cycles_mean": {"encoder": 64.0, "fc1": 85.0, "argmax": 11.0},
        "result_cycles": [100, 190, 280], "weight_limit_cycles": 30.0,
        "pixel_limit_cycles": 64.0, "interval_to_weight_limit": 3.0,
        "interval_to_pixel_limit": 90 / 64, "source": "stream model"}))
    points = [{"lanes": 1, "mean_cycles": 400.0, "luts": 100},
              {"lanes": 4, "mean_cycles": 150.0, "luts": 300},
              {"lanes": 8, "mean_cycles": 160.0, "luts": 500}]
    pareto_front(points)
    (tmp_path / "sweep.json").write_text(json.dumps({"target": "ecp5-85k", "points": points}))
    json_path, html_path = write_report(tmp_path)
    report = json.loads(json_path.read_text())
    assert report["accuracy"]["snn_golden"] == {"value": 0.94,
                                                "source": "golden model, 10 mnist test images"}
    assert report["latency"]["cycles"]["value"]["mean"] == 120
    html = html_path.read_text()
    assert "result_cycles" not in report["stream"]
    for title in ("Accuracy at each level", "Latency per image", "Mean cycles per stage",
                  "Latency against lanes",
                  "Resources against lanes", "Pareto front"):
        assert f"<figcaption>{title}</figcaption><svg" in html
    assert [p["pareto"] for p in points] == [True, True, False]


def test_report_plots_images_per_second_against_luts_for_a_dataflow_sweep(tmp_path):
    from spikewright.report import write_report
    evaluation = {"dataset": "mnist", "split": "test", "images": 10, "timesteps": 1,
                  "network_digest": "ab" * 32, "model": "m",
                  "accuracy": {"ann_float": 0.9, "ann_quant": 0.95, "snn_golden": 0.94},
                  "spikes_per_image": {"total": 100.0}, "synops_per_image": {"total": 1000.0}}
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    points = [{"fps_target": 1e5, "mean_cycles": 900.0, "luts": 2000, "images_per_s": 1e5},
              {"fps_target": 2e5, "mean_cycles": 450.0, "luts": 3500, "images_per_s": 2e5},
              {"fps_target": 3e5, "mean_cycles": 460.0, "luts": 6000, "images_per_s": 1.9e5}]
    pareto_front(points)
    assert [p["pareto"] for p in points] == [True, True, False]
    (tmp_path / "sweep.json").write_text(json.dumps({"target": "ecp5-85k", "points": points}))
    _, html_path = write_report(tmp_path)
    assert "<figcaption>Pareto front</figcaption><svg" in html_path.read_text()


def test_a_folded_sweep_is_plotted_as_images_per_s_against_lut4():
    """The placed sweep of the shipped MLP kept in docs/reports: every placed design a
    point, the Pareto front circled; a sweep with nothing placed has no chart."""
    import json
    from pathlib import Path
    from spikewright.report import folded_sweep_chart
    sweep = json.loads((Path(__file__).parents[1] / "docs" / "reports" / "sweep_mlp_folded"
                        / "sweep.json").read_text())
    chart = folded_sweep_chart(sweep)
    assert chart.startswith("<svg") and "Images/s against LUT4 (ecp5-85k" in chart
    assert chart.count("<circle") >= len(sweep["points"])
    assert folded_sweep_chart({"target": "ecp5-85k", "points": [
        {"fps_target": 1.0, "luts": None, "images_per_s": None}]}) is None
