"""Training speed beside a CPU hog, against the share of the CPUs a fair scheduler would give.

``python benchmarks/contention.py --artclf`` (what the bench row runs, in a fresh process so
that artclf's thread policy is in force before torch loads) times ResNet18 training steps
alone, then beside ``hogs`` busy-looping processes, and prints one JSON line. Without
``--artclf`` (run isolated, ``python -I``) it never imports the artclf package: torch's own
thread defaults, the baseline.

The fair figure: the scheduler shares the CPUs per runnable thread, so ``T`` training threads
beside ``H`` single-threaded hogs on ``C`` CPUs get ``min(T, C·T/(T+H))`` CPUs against
``min(T, C)`` alone; the fair slowdown is the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HOG = "while True: pass"


def fair_slowdown(threads: int, hogs: int, cpus: int) -> float:
    """Slowdown a per-thread fair scheduler imposes on ``threads`` beside ``hogs`` busy loops."""
    alone = min(threads, cpus)
    shared = min(threads, cpus * threads / (threads + hogs))
    return alone / shared


def _steps_per_second(step, seconds: float) -> float:
    for _ in range(2):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += 1
    return done / (time.perf_counter() - start)


def measure(hogs: int, seconds: float, image_size: int = 64, batch: int = 32) -> dict[str, float]:
    """Training images/s alone and beside ``hogs`` busy processes, and the fair slowdown."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = resnet18(num_classes=20)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    images = torch.randn(batch, 3, image_size, image_size)
    targets = torch.randint(0, 20, (batch,))

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), targets).backward()
        optimizer.step()

    alone = _steps_per_second(step, seconds) * batch
    busy = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    try:
        time.sleep(0.3)
        loaded = _steps_per_second(step, seconds) * batch
    finally:
        for process in busy:
            process.kill()
            process.wait()
    threads = torch.get_num_threads()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "threads": threads,
        "cpus": cpus,
        "hogs": hogs,
        "alone_img_s": alone,
        "loaded_img_s": loaded,
        "slowdown": alone / loaded,
        "fair_slowdown": fair_slowdown(threads, hogs, cpus),
        "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(OpenMP default)"),
    }


def run_measurement(ours: bool, hogs: int, seconds: float) -> dict[str, float]:
    """Measure in a fresh interpreter: with artclf's thread policy (``ours``) or torch's own
    defaults (no artclf import, none of the policy's variables in its environment)."""
    from artclf.runtime.threads import POLICY_VARIABLES

    env = dict(os.environ)
    if ours:
        command = [sys.executable, __file__, "--artclf"]
    else:
        command = [sys.executable, "-I", __file__]  # -I: not even the package folder on the path
        env = {k: v for k, v in env.items() if k not in POLICY_VARIABLES}
    out = subprocess.run(
        [*command, "--hogs", str(hogs), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hogs", type=int, default=2, help="busy-looping processes beside it")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--artclf", action="store_true", help="with artclf's thread policy")
    args = parser.parse_args()
    if args.artclf:
        import artclf  # noqa: F401  (its thread policy, set before torch loads)
    print(json.dumps(measure(args.hogs, args.seconds)))


if __name__ == "__main__":
    main()
