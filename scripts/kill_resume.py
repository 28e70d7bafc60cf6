"""SIGKILL `zen finetune` at random moments; every `--resume` must end byte for byte as the
uninterrupted run, or refuse a checkpoint that is not whole.

1. An uninterrupted run (twice: the same model both times) of the tiny fixture classifier on the
   first `--examples` texts of `sentiment/train.json`, with dropout and shuffling, saving a
   checkpoint after every step (`--save-every 1`, so that kills often land in a save). Its
   `model.safetensors` is the reference.
2. `--kills` runs of the same command, each killed with SIGKILL (nothing is saved on the way
   out): half at a moment drawn over the run (after a drawn step, plus up to two steps' time:
   the machine's load does not push it past the end), half inside a save: once the save of a
   drawn step has written a drawn number of its files into its temporary directory (0 to 6,
   trainer_state.json last), or while it removes the previous checkpoint. The moments come
   from `--seed`.
3. The same command with `--resume` in each killed run's directory; its `model.safetensors` is
   compared with the reference's by `cmp`. A kill before the first checkpoint leaves nothing to
   resume; a kill after the run ended leaves the finished model (compared too).

Prints a line per kill and a summary; exits 1 if any model differs, a resume fails otherwise,
or a kill inside a save did not leave the previous checkpoint whole (resumed from).

    swift build -c release
    python3 scripts/kill_resume.py
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zen", default=os.path.join(ROOT, ".build/release/zen"))
    parser.add_argument("--model", default=os.path.join(SHARED, "fixtures/training/tiny-cls-finetune/init"))
    parser.add_argument("--data", default=os.path.join(SHARED, "data/sentiment/train.json"))
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--work", help="directory for the runs (default: a temporary one, removed at the end)")
    return parser.parse_args()


def checkpoints(output):
    """The whole checkpoints (`checkpoint-<step>`) and the scratch directories in `output`."""
    entries = os.listdir(output) if os.path.isdir(output) else []
    whole = sorted(int(e[len("checkpoint-"):]) for e in entries if re.fullmatch(r"checkpoint-\d+", e))
    scratch = sorted(e for e in entries if e.startswith(".checkpoint-") and e.endswith(".partial"))
    return whole, scratch


def save_reached(output, step, files):
    """True once the save of `step` has written `files` files into its scratch directory, or
    (`files` None) once the checkpoint before `step` is being removed."""
    try:
        entries = os.listdir(output)
    except FileNotFoundError:
        return False
    if files is None:
        # The removal's scratch name is that of the save of step - 1 cut off: it is the
        # removal once checkpoint-<step> is in place.
        return f"checkpoint-{step}" in entries and any(e.startswith(f".checkpoint-{step - 1}.") and e.endswith(".partial") for e in entries)
    for entry in entries:
        if entry.startswith(f".checkpoint-{step}.") and entry.endswith(".partial"):
            try:
                # OutputFile's temporary files (dot names) are not written files yet.
                if len([f for f in os.listdir(os.path.join(output, entry)) if not f.startswith(".")]) >= files:
                    return True
            except FileNotFoundError:
                pass   # renamed into place meanwhile: this save is over
    return False


def logged_steps(output):
    try:
        with open(os.path.join(output, "train_log.jsonl"), "rb") as log:
            return log.read().count(b"\n")
    except FileNotFoundError:
        return 0


def save_over(output, step, files):
    """True once the part of the save of `step` that `save_reached` waits for is over."""
    whole, _ = checkpoints(output)
    return any(s > step for s in whole) or step in whole and (files is not None or step - 1 not in whole)


def main():
    args = arguments()
    if not os.access(args.zen, os.X_OK):
        sys.exit(f"{args.zen} is not built; run swift build -c release")
    work = args.work or tempfile.mkdtemp(prefix="zen-kill-resume-")
    os.makedirs(work, exist_ok=True)
    train = os.path.join(work, "train.json")
    with open(args.data, encoding="utf-8") as source, open(train, "w", encoding="utf-8") as target:
        for _, line in zip(range(args.examples), source):
            target.write(line)
    command = [args.zen, "finetune", "--model", args.model, "--task", "classification", "--train", train,
               "--max-seq-length", "64", "--batch-size", "8", "--learning-rate", "1e-3", "--epochs", "2",
               "--dropout", "0.1", "--seed", "7", "--threads", "1", "--save-every", "1"]
    steps = 2 * -(-args.examples // 8)

    # Twice: the run must be reproducible for the comparison to mean anything.
    durations = []
    for name in ("whole", "again"):
        started = time.monotonic()
        subprocess.run(command + ["--output", os.path.join(work, name)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        durations.append(time.monotonic() - started)
    reference = os.path.join(work, "whole", "model.safetensors")
    if not cmp(reference, os.path.join(work, "again", "model.safetensors")):
        sys.exit("two uninterrupted runs gave different models: nothing to compare with")
    duration = min(durations)
    print(f"uninterrupted: {steps} steps, a checkpoint after each, {duration:.2f} s (twice, the same model)", flush=True)

    rng = random.Random(args.seed)
    counts = {"identical": 0, "refused": 0, "different": 0, "nothing to resume": 0, "failed": 0}
    in_saves, finished_first = 0, 0
    for kill in range(args.kills):
        output = os.path.join(work, f"kill-{kill:02d}")
        process = subprocess.Popen(command + ["--output", output], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kill % 2 == 0:
            # A moment of the run's own progress, so that the machine's load does not move it
            # past the end: once step k is logged, then up to two steps' time later.
            logged, delay = rng.randrange(steps), rng.uniform(0, 2 * duration / steps)
            what = f"{delay:.3f} s after step {logged}"
            while process.poll() is None and logged_steps(output) < logged:
                time.sleep(0.0005)
            deadline = time.monotonic() + delay
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
        else:
            step = rng.randint(2, steps - 1)
            files = rng.choice([0, 1, 2, 3, 4, 5, 6, None])
            what = f"in the save of step {step}, " + ("removing the previous checkpoint" if files is None else f"{files} of 6 files written")
            # A save too quick to catch at that point is over once its checkpoint is in place:
            # the kill then lands just after it.
            while process.poll() is None and not save_reached(output, step, files):
                if save_over(output, step, files):
                    what += " (missed: just after it)"
                    break
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        process.wait()
        whole_left, scratch_left = checkpoints(output)
        left = ", ".join([f"checkpoint-{s}" for s in whole_left] + scratch_left) or "nothing"
        in_saves += bool(scratch_left) or len(whole_left) > 1
        finished_first += finished

        if finished:
            outcome, note = ("identical" if cmp(reference, os.path.join(output, "model.safetensors")) else "different"), "finished before the kill"
        else:
            resumed = subprocess.run(command + ["--output", output, "--resume"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            at = re.search(r"resuming at step (\d+)", resumed.stderr)
            note = f"resumed at step {at.group(1)}" if at else resumed.stderr.strip().splitlines()[-1] if resumed.stderr.strip() else ""
            if resumed.returncode == 0:
                outcome = "identical" if cmp(reference, os.path.join(output, "model.safetensors")) else "different"
                # The newest whole checkpoint is the one resumed from, whatever a cut-off save left.
                if whole_left and (not at or int(at.group(1)) != whole_left[-1]):
                    outcome, note = "failed", f"{note}, not from checkpoint-{whole_left[-1]}"
            elif "cannot resume from" in resumed.stderr:
                outcome = "refused"
            elif "nothing to resume" in resumed.stderr and not whole_left:
                outcome = "nothing to resume"
            else:
                outcome = "failed"
        counts[outcome] += 1
        print(f"kill {kill + 1:2d} {what}: left {left}; {note}: {outcome}", flush=True)

    print(f"{args.kills} kills ({in_saves} inside a save or the removal after it, {finished_first} after the run had ended): "
          f"{counts['identical']} identical, {counts['refused']} refused, "
          f"{counts['nothing to resume']} before the first checkpoint (nothing to resume), "
          f"{counts['different']} different, {counts['failed']} failed")
    if not args.work:
        shutil.rmtree(work)
    sys.exit(1 if counts["different"] or counts["failed"] else 0)


def cmp(a, b):
    return os.path.exists(b) and subprocess.run(["cmp", "-s", a, b]).returncode == 0


if __name__ == "__main__":
    main()
