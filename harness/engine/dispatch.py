"""Running units of work on Ray — shared by every experiment command (run-benchmark, run-robustness).

A unit is one sample and the items (method, cache key, want PNG) still to compute for it, so the sample is
decoded once however many methods (and reference regions) use it. Units with classical methods only run as
Ray tasks; the others go to one pool of actors, each building — loading the weights of — each method once,
from checkpoint bytes the driver read and put in the object store (no worker opens a driver's path).
The pool starts before anything else and hashes the samples, so the heavy imports happen in the processes
that will do the work. Units are handed to actors as they free up (dynamic balance), and an actor is killed
as soon as the queue is empty, so the remaining tasks get its core back.

The driver alone handles results (`on_result`): it writes the cache, predictions and MLflow as results arrive,
so an interrupted run keeps every finished unit.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any, Callable

HASH_CHUNK = 16  # samples per hashing call
ACTOR_QUEUE = 2  # units queued per actor: one running, one ready
ACTORS_PER_GPU = 4  # actors sharing one GPU (each holds its own copy of the models)
INTERRUPT_ENV = "HARNESS_INTERRUPT_AFTER"  # test hook: SIGINT to the driver after this many stored results


def pool_shape(n_specs: int, cluster: dict) -> tuple[int, float]:
    """(actors, GPU share of each): one actor per CPU — at most ACTORS_PER_GPU per GPU when there are GPUs, all
    of them shared evenly — and never more actors than samples."""
    gpus, cpus = cluster["gpus"], max(1, cluster["cpus"])
    n = max(1, min(n_specs, cpus, ACTORS_PER_GPU * gpus if gpus else cpus))
    return n, gpus / n if gpus else 0.0


class ActorPool(list):
    """The actors, and the object-store reference of the weights they are built from. The driver holds that
    reference as long as it holds the pool: an object whose only holder is an actor's constructor argument can
    be deleted by Ray's reference counting, and an actor restarted after a crash then dies in its constructor
    (ReferenceCountingAssertionError — seen when a test killed a worker process)."""

    def __init__(self, actors: list, weights: Any = None) -> None:
        super().__init__(actors)
        self.weights = weights


def start_pool(n_specs: int, methods: list, cluster: dict) -> ActorPool:
    """The actor pool, when any method runs in actors (learned, or from outside the project)."""
    import ray

    from harness.engine.worker import MethodWorker

    if not any(m.in_actor for m in methods):
        return ActorPool([])
    n, gpu_each = pool_shape(n_specs, cluster)
    actor_cls = ray.remote(num_cpus=1, num_gpus=gpu_each, max_restarts=3, max_task_retries=3)(MethodWorker)
    # Every learned method's checkpoint, read here and put in the object store once: the actors (on any node)
    # get bytes, never a path of the driver's (harness/methods/weights.py).
    weights = ray.put({m: m.weights() for m in methods if m.info.kind == "learned"})
    return ActorPool([actor_cls.remote(weights) for _ in range(n)], weights)


def hash_samples(specs: list, actors: list, cpus: int) -> list[str]:
    """Content hashes of every sample, in chunks spread over the actors (or over Ray tasks when there are
    none): at least one chunk per worker, so each is warmed up (see worker.hash_specs)."""
    import ray

    from harness.engine.worker import hash_specs

    workers = max(1, len(actors) or cpus)
    size = max(1, min(HASH_CHUNK, -(-len(specs) // workers)))
    chunks = [specs[i:i + size] for i in range(0, len(specs), size)]
    if actors:
        refs = [actors[i % len(actors)].hash.remote(c) for i, c in enumerate(chunks)]
    else:
        refs = [ray.remote(num_cpus=1)(hash_specs).remote(c) for c in chunks]
    return [h for part in ray.get(refs) for h in part]


def execute(units: list[tuple[Any, list[tuple]]], options: dict[str, Any], actors: list,
            on_result: Callable[[tuple, dict], None], progress: tuple[bool, Any, str]) -> None:
    """Run `units` — (sample spec, [(method spec, key, want PNG, anything the driver needs), …]) — and call
    `on_result(item, result)` in the driver for each item as its unit finishes, counting items on a progress
    bar (`progress`: shown?, its stream, its label). Actors are always killed at the end."""
    total = sum(len(items) for _, items in units)
    bar = progress_bar(total, *progress)
    try:
        _execute(units, options, actors, on_result, bar)
    except BaseException:
        bar.leave = False  # on a terminal, the error line is not left under a half-drawn bar
        raise
    finally:
        bar.close()


def _execute(units: list[tuple[Any, list[tuple]]], options: dict[str, Any], actors: list,
             on_result: Callable[[tuple, dict], None], progress) -> None:
    import ray

    from harness.engine.worker import run_task

    refs: dict[Any, list] = {}
    task_remote = ray.remote(num_cpus=1, max_retries=3, retry_exceptions=False)(run_task)
    queue: deque = deque()
    for spec, items in units:
        payload = (spec, [(m, key, want) for m, key, want, *_ in items], options)
        if any(m.in_actor for m, *_ in items):
            queue.append((payload, items))
        else:
            refs[task_remote.remote(*payload)] = items

    in_flight: dict[Any, int] = {a: 0 for a in actors}
    ref_actor: dict[Any, Any] = {}

    def feed(actor) -> list:
        """Give `actor` its next unit (returns the new ref), or retire it when there is nothing left."""
        if queue:
            payload, items = queue.popleft()
            ref = actor.run.remote(*payload)
            refs[ref] = items
            ref_actor[ref] = actor
            in_flight[actor] += 1
            return [ref]
        if in_flight[actor] == 0:
            ray.kill(actor, no_restart=True)
        return []

    for actor in actors:
        for _ in range(ACTOR_QUEUE):
            feed(actor)

    interrupt_after = int(os.environ.get(INTERRUPT_ENV, "0") or 0)
    stored = 0
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                items = refs.pop(ref)
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    cause = getattr(err, "cause", None)  # the worker's own error (e.g. one clear line)
                    raise (cause if isinstance(cause, BaseException) else err) from None
                for item, res in zip(items, results):
                    on_result(item, res)
                stored += len(results)
                progress.update(len(results))
                if interrupt_after and stored >= interrupt_after:
                    import signal

                    interrupt_after = 0
                    os.kill(os.getpid(), signal.SIGINT)
                actor = ref_actor.pop(ref, None)
                if actor is not None:
                    in_flight[actor] -= 1
                    pending += feed(actor)
    finally:
        # Tasks still in flight are not cancelled: ray.cancel racing a task's completion aborted the driver
        # inside Ray (task_manager.cc "Tried to complete task that was not pending"); they end with the job
        # (ray.shutdown for a local Ray, the driver's disconnect on a cluster). Actors are killed so a
        # long-lived Ray session (Python API) gets its CPUs/GPUs back.
        for a in actors:
            ray.kill(a, no_restart=True)


def progress_bar(total: int, enabled: bool, stream, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=stream, disable=not enabled or total == 0,
                dynamic_ncols=True)
