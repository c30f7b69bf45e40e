"""Where checkpoints, curves, Tune state and suites live: a local or NFS folder, or an object store — one place
that turns a location into a pyarrow filesystem and a path, the way Ray Train and Tune take them
(`RunConfig(storage_path=path, storage_filesystem=fs)`).

A *location* is a string: a local path, `file:///…`, `s3://BUCKET/PREFIX` or `gs://BUCKET/PREFIX`, with
pyarrow's own query options (`?region=…&endpoint_override=…`). `locate(uri, endpoint)` writes the S3 endpoint
(`--storage-endpoint`, else $AWS_ENDPOINT_URL) into the location itself, so a Ray worker on another machine
resolves the same store from the string alone — it never needs the driver's environment or paths. `join`
keeps the query, so every file of a suite in a store is a location too, and the loaders read one way:
`read_bytes(location)`.

Every failure a user can cause (an unknown scheme, an endpoint nobody answers, a bucket that does not exist,
a missing file) is a one-line HarnessError / InputError naming the location. pyarrow is imported only when a
location is used, so `harness --help` stays fast.
"""

from __future__ import annotations

import functools
import os
import posixpath
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from harness.errors import HarnessError, InputError

SCHEMES = {"s3": "S3", "gs": "Google Cloud Storage", "gcs": "Google Cloud Storage", "file": "a local folder"}
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
HELP = "a local or NFS folder, s3://BUCKET/PREFIX or gs://BUCKET/PREFIX"


def is_uri(location: str) -> bool:
    return "://" in location


def scheme_of(location: str) -> str:
    return location.split("://", 1)[0].lower() if is_uri(location) else ""


def is_local(location: str) -> bool:
    """A path of this machine's filesystem (no scheme, or file://)."""
    return scheme_of(location) in ("", "file")


def check_location(flag: str, location: Any) -> Any:
    """A config check: a known scheme (no network) — "unknown scheme" is one line naming what is accepted."""
    if not isinstance(location, str) or not location:
        return location
    scheme = scheme_of(location)
    if scheme and scheme not in SCHEMES:
        raise HarnessError(f"{flag} {display(location)}: unknown scheme '{scheme}://' (use {HELP})")
    if scheme and not _split(location)[1].strip("/"):
        raise HarnessError(f"{flag} {location}: no bucket named (use {HELP})")
    return location


def check_endpoint(flag: str, endpoint: Any) -> Any:
    if endpoint is None:
        return None
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")) or "?" in endpoint:
        raise HarnessError(f"{flag} must be an http:// or https:// address (e.g. http://127.0.0.1:9000), "
                           f"not {endpoint!r}")
    return endpoint.rstrip("/")


# ------------------------------------------------------------------------------------------------ the strings
def _split(location: str) -> tuple[str, str, str]:
    """`s3://b/p/x?q` → ("s3", "b/p/x", "q"); a local path → ("", path, "")."""
    if not is_uri(location):
        return "", location, ""
    scheme, rest = location.split("://", 1)
    rest, _, query = rest.partition("?")
    return scheme.lower(), rest, query


def _unsplit(scheme: str, path: str, query: str) -> str:
    if not scheme:
        return path
    return f"{scheme}://{path}" + (f"?{query}" if query else "")


def display(location: str) -> str:
    """The location without its query (what messages and tables show)."""
    scheme, path, _ = _split(location)
    return _unsplit(scheme, path, "")


def locate(location: str, endpoint: str | None = None) -> str:
    """The canonical location: a local path made absolute; an s3:// one with its endpoint written in
    (`endpoint`, else the query's, else $AWS_ENDPOINT_URL) and a region when an endpoint is set (an
    S3-compatible store ignores it; pyarrow would otherwise ask AWS for the bucket's region)."""
    check_location("--storage", location)
    scheme, path, query = _split(location)
    if scheme in ("", "file"):
        return os.path.abspath(os.path.expanduser(path if scheme == "" else "/" + path.lstrip("/")))
    if scheme == "s3":
        params = dict(parse_qsl(query, keep_blank_values=True))
        endpoint = endpoint or params.get("endpoint_override") or os.environ.get(ENDPOINT_ENV) or None
        if endpoint:
            params["endpoint_override"] = endpoint.rstrip("/")
            params.setdefault("region", os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                              or "us-east-1")
        query = urlencode(sorted(params.items()), safe=":/")
    return _unsplit(scheme, path.rstrip("/"), query)


def join(location: str, *parts: str) -> str:
    """`location`/part/… — the query (endpoint, region) kept."""
    scheme, path, query = _split(location)
    if not scheme:
        return str(Path(path, *parts))
    return _unsplit(scheme, posixpath.join(path, *parts), query)


def name_of(location: str) -> str:
    return posixpath.basename(_split(location)[1].rstrip("/"))


def with_path(location: str, path: str) -> str:
    """The location of `path` in the same store as `location` (a path Ray hands back: a checkpoint's)."""
    scheme, _, query = _split(location)
    return _unsplit(scheme, path, query) if scheme not in ("", "file") else path


def run_location(storage: str | None, endpoint: str | None, out: str) -> str:
    """Where a run whose driver folder is `out` persists: `out` itself by default (one machine), else
    STORAGE/<the name of out> — the same layout, in the store."""
    if not storage:
        return locate(out)
    return join(locate(storage, endpoint), name_of(locate(out)))


# ----------------------------------------------------------------------------------------- filesystem and path
@functools.lru_cache(maxsize=32)
def _filesystem(scheme: str, bucket: str, query: str):
    from pyarrow import fs as pafs

    if scheme in ("", "file"):
        return pafs.LocalFileSystem()
    try:
        return pafs.FileSystem.from_uri(_unsplit(scheme, bucket, query))[0]
    except Exception as err:  # noqa: BLE001 — pyarrow raises OSError, ArrowInvalid, …: all one line here
        raise HarnessError(f"{_unsplit(scheme, bucket, '')}: cannot open the store ({_first_line(err)})") from None


def resolve(location: str, endpoint: str | None = None):
    """(pyarrow filesystem, path in it) of a location — what Ray's `storage_filesystem` / `storage_path` take."""
    scheme, path, query = _split(locate(location, endpoint))
    if scheme in ("", "file"):
        return _filesystem("", "", ""), path
    bucket = path.split("/", 1)[0]
    return _filesystem(scheme, bucket, query), path


def ray_storage(location: str) -> dict[str, Any]:
    """`storage_path=` and `storage_filesystem=` for a Ray Train/Tune RunConfig (a local path: no filesystem,
    as Ray takes one)."""
    if is_local(location):
        return {"storage_path": locate(location)}
    fs, path = resolve(location)
    return {"storage_path": path, "storage_filesystem": fs}


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else err.__class__.__name__


def _endpoint(location: str) -> str | None:
    return dict(parse_qsl(_split(location)[2])).get("endpoint_override")


def _failure(location: str, err: BaseException) -> HarnessError:
    text = str(err)
    if "NETWORK_CONNECTION" in text or "Could not connect" in text or "curlCode" in text:
        where = _endpoint(location) or f"{scheme_of(location)}://"
        return HarnessError(f"{display(location)}: cannot reach the store at {where} (nothing answers); check "
                            "--storage-endpoint / $AWS_ENDPOINT_URL")
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        return HarnessError(f"{display(location)}: the bucket does not exist")
    return HarnessError(f"{display(location)}: {_first_line(err)}")


def _info(location: str):
    fs, path = resolve(location)
    try:
        return fs.get_file_info(path)
    except OSError as err:
        raise _failure(location, err) from None


def check_reachable(flag: str, location: str) -> None:
    """Before any work: an object store answers and its bucket exists (one line naming the flag if not). An
    S3-compatible endpoint is asked once, without the SDK's retries, so a dead one is refused at once."""
    if is_local(location):
        return
    from pyarrow import fs as pafs

    fs, path = resolve(location)
    params = dict(parse_qsl(_split(locate(location))[2]))
    if scheme_of(location) == "s3" and params.get("endpoint_override"):
        fs = pafs.S3FileSystem(endpoint_override=params["endpoint_override"], region=params.get("region"),
                               scheme=params.get("scheme", "https"), connect_timeout=5, request_timeout=20,
                               retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1))
    bucket = path.split("/", 1)[0]
    try:
        info = fs.get_file_info(bucket)
    except OSError as err:
        raise HarnessError(f"{flag} {_failure(location, err)}") from None
    if info.type == pafs.FileType.NotFound:
        raise HarnessError(f"{flag} {display(location)}: the bucket '{bucket}' does not exist")


# ------------------------------------------------------------------------------------------------ small helpers
def exists(location: str) -> bool:
    from pyarrow import fs as pafs

    return _info(location).type != pafs.FileType.NotFound


def is_file(location: str) -> bool:
    from pyarrow import fs as pafs

    return _info(location).type == pafs.FileType.File


def is_dir(location: str) -> bool:
    """A folder (in an object store: a prefix that holds something)."""
    from pyarrow import fs as pafs

    if is_local(location):
        return os.path.isdir(locate(location))
    return _info(location).type == pafs.FileType.Directory


def list_dir(location: str, recursive: bool = False) -> dict[str, bool]:
    """{name relative to `location`: is a folder} of what `location` holds ({} when it does not exist)."""
    from pyarrow import fs as pafs

    fs, path = resolve(location)
    try:
        infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=recursive))
    except OSError as err:
        raise _failure(location, err) from None
    if not infos and not is_local(location):  # nothing there: say so if the bucket itself is missing
        bucket = path.split("/", 1)[0]
        if fs.get_file_info(bucket).type == pafs.FileType.NotFound:
            raise HarnessError(f"{display(location)}: the bucket '{bucket}' does not exist")
    base = path.rstrip("/") + "/"
    return {i.path[len(base):]: i.type == pafs.FileType.Directory for i in infos if i.path.startswith(base)}


def read_bytes(location: str) -> bytes:
    """A file's bytes; a missing one is an InputError naming it ("file not found")."""
    from pyarrow import fs as pafs

    if is_local(location):
        p = Path(locate(location))
        if not p.is_file():
            raise InputError(display(location), "file not found")
        return p.read_bytes()
    fs, path = resolve(location)
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(display(location), "file not found") from None
    except OSError as err:
        if fs.get_file_info(path).type == pafs.FileType.NotFound:
            raise InputError(display(location), "file not found") from None
        raise _failure(location, err) from None


def read_text(location: str) -> str:
    return read_bytes(location).decode("utf-8")


def write_bytes(location: str, data: bytes) -> None:
    fs, path = resolve(location)
    try:
        if is_local(location):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with fs.open_output_stream(path) as f:
            f.write(data)
    except OSError as err:
        raise _failure(location, err) from None


def upload_dir(local: str | os.PathLike, location: str) -> None:
    """Copy a local folder's contents to `location` (files replaced)."""
    from pyarrow import fs as pafs

    fs, path = resolve(location)
    try:
        fs.create_dir(path, recursive=True)
        pafs.copy_files(str(Path(local).resolve()), path, source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=fs)
    except OSError as err:
        raise _failure(location, err) from None


def download(location: str, local: str | os.PathLike) -> Path:
    """Copy a file or a folder at `location` to `local` (written under a temporary name, then renamed, so an
    interruption leaves no half file); returns `local`."""
    from pyarrow import fs as pafs

    local = Path(local)
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.download")
    shutil.rmtree(tmp, ignore_errors=True)
    fs, path = resolve(location)
    try:
        kind = fs.get_file_info(path).type
        if kind == pafs.FileType.NotFound:
            raise InputError(display(location), "not found")
        if kind == pafs.FileType.Directory:
            tmp.mkdir()
        pafs.copy_files(path, str(tmp), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    except OSError as err:
        raise _failure(location, err) from None
    if local.is_dir():
        shutil.rmtree(local)
    os.replace(tmp, local)
    return local


def delete_dir(location: str) -> None:
    fs, path = resolve(location)
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise _failure(location, err) from None
