"""MovieLens (and any RecBole atomic export) as a Linli :class:`~features.Dataset`.

RecBole's *atomic files* are tab-separated with a typed header, one file per table: ``NAME.inter``
(``user_id:token, item_id:token, rating:float, timestamp:float``), ``NAME.user``
(``user_id:token, age:token, gender:token, occupation:token, ...``) and ``NAME.item``
(``item_id:token, movie_title:token_seq, release_year:token, class:token_seq``; genres may also be
called ``genre`` or ``genres``). The mapping into Linli's contracts, done at the edge:

* users → residents: ``birth_year`` = year of the last rating − age; occupation → ``employment``
  (``retired`` and ``student`` keep their name, ``none`` / ``unemployed`` → unemployed, ``homemaker`` and
  ``other`` → other, every job → employed; MovieLens-1M's numeric occupation codes are understood too).
  Each zip-code prefix is a community (3 characters), its first character the street and district.
  ``gender`` and the raw ``occupation`` ride along as extra columns.
* movies → services: ``category`` = the genres joined by ``;``, ``name_zh`` / ``name_en`` = the title,
  channel ``online``; ``release_year`` and ``genres`` ride along.
* ratings → interactions of event ``rate`` with their rating and timestamp (Unix seconds, UTC); the extra
  column ``source_row`` keeps each rating's line in ``NAME.inter``, because published random splits depend on
  file order while a dataset keeps its interactions in time order.

MovieLens-100K itself is read from the ``recbole==1.2.1`` wheel on PyPI (``recbole/dataset_example/ml-100k``),
fetched once with ``pip download --no-deps`` and cached: :func:`fetch_movielens_100k`. RecBole is never
installed and the data never enters the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from features.columns import LIST_SEPARATOR
from features.columns import Columns as C
from features.dataset import Dataset
from features.errors import SourceError
from privacy.pseudonym import pseudonymise_frames

#: Extra interactions column: the rating's 0-based row in ``NAME.inter`` (published splits depend on file order).
SOURCE_ROW = "source_row"
#: The wheel that ships MovieLens-100K as RecBole atomic files.
RECBOLE_WHEEL = "recbole==1.2.1"
ML100K = "ml-100k"
_WHEEL_FOLDER = "recbole/dataset_example/ml-100k/"
_PARTS = ("inter", "user", "item")
_TYPES = {"token": str, "token_seq": str, "float": float, "float_seq": str}
_GENRE_COLUMNS = ("class", "genre", "genres")
#: MovieLens-1M's occupation codes (README of ml-1m) that are not jobs.
_ML1M_CODES = {"0": "other", "4": "student", "9": "homemaker", "10": "student", "13": "retired", "19": "unemployed"}
_EMPLOYMENT = {"retired": "retired", "student": "student", "none": "unemployed", "unemployed": "unemployed",
               "homemaker": "other", "other": "other"}


def read_atomic(path: str | Path) -> pd.DataFrame:
    """Read one RecBole atomic file (tab-separated, header cells ``name:type``).

    ``token`` and ``token_seq`` columns are strings, ``float`` columns numbers; column names lose their type.

    Raises
    ------
    SourceError
        The file is missing, not UTF-8, has a header cell without a known type, a row with the wrong
        number of fields, or a ``float`` cell that is not a number (naming file, line and column).
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file; a RecBole data folder holds NAME.inter, NAME.user and NAME.item")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from exc
    if not lines or not lines[0].strip():
        raise SourceError(f"{path}: empty file; the first line must be a typed header such as 'user_id:token'")
    names, types = _header(path, lines[0])
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(names):
            raise SourceError(f"{path}: line {number} has {len(row)} tab-separated field(s), the header has "
                              f"{len(names)} ({', '.join(names)})")
    frame = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    for name, kind in zip(names, types, strict=True):
        frame[name] = frame[name].str.strip()
        if _TYPES[kind] is float:
            values = pd.to_numeric(frame[name], errors="coerce")
            bad = np.flatnonzero(values.isna().to_numpy() & frame[name].ne("").to_numpy())
            if len(bad):
                raise SourceError(f"{path}: line {bad[0] + 2}, column '{name}': {frame[name].iloc[bad[0]]!r} is not "
                                  f"a number ({len(bad)} such cell(s))")
            frame[name] = values
    return frame


def _header(path: Path, line: str) -> tuple[list[str], list[str]]:
    names: list[str] = []
    types: list[str] = []
    for cell in line.rstrip("\r\n").split("\t"):
        name, _, kind = cell.strip().rpartition(":")
        if not name or kind not in _TYPES:
            raise SourceError(f"{path}: header cell {cell!r} is not 'name:type' with type one of {list(_TYPES)}")
        if name in names:
            raise SourceError(f"{path}: header names column {name!r} twice")
        names.append(name)
        types.append(kind)
    return names, types


def _require(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")


def atomic_name(folder: str | Path, name: str | None = None) -> str:
    """The data set name ``NAME`` of a folder holding ``NAME.inter`` (the only one, unless ``name`` is given)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"{folder}: not a folder")
    if name is not None:
        return name
    found = sorted(p.stem for p in folder.glob("*.inter"))
    if len(found) != 1:
        raise SourceError(f"{folder}: expected exactly one NAME.inter file, found {found or 'none'}; "
                          "pass the data set name")
    return found[0]


def load_recbole(folder: str | Path, name: str | None = None, *, strict: bool = True) -> Dataset:
    """Load a folder of RecBole atomic files (``NAME.inter``, ``NAME.user``, ``NAME.item``) as a dataset.

    Parameters
    ----------
    folder : str or Path
    name : str, optional
        ``NAME``; by default the stem of the folder's only ``.inter`` file.
    strict : bool, default True
        See :meth:`Dataset.from_frames`.

    Raises
    ------
    SourceError
        A file is missing or malformed (see :func:`read_atomic`), or lacks a needed column.
    DataValidationError
        The mapped tables break Linli's contracts (e.g. a rating of an unknown movie).
    """
    folder = Path(folder)
    name = atomic_name(folder, name)
    paths = {part: folder / f"{name}.{part}" for part in _PARTS}
    inter, user, item = (read_atomic(paths[part]) for part in _PARTS)
    _require(inter, ("user_id", "item_id", "timestamp"), paths["inter"])
    _require(user, ("user_id",), paths["user"])
    _require(item, ("item_id",), paths["item"])
    if inter["timestamp"].isna().any():
        row = int(np.flatnonzero(inter["timestamp"].isna().to_numpy())[0]) + 2
        raise SourceError(f"{paths['inter']}: line {row}, column 'timestamp': empty; every rating needs a time")
    stamps = pd.to_datetime(inter["timestamp"].astype("int64"), unit="s", utc=True)
    interactions = pd.DataFrame({
        C.RESIDENT: inter["user_id"], C.SERVICE: inter["item_id"], C.TIMESTAMP: stamps, C.EVENT: "rate",
        C.RATING: inter["rating"] if "rating" in inter.columns else np.nan,
        SOURCE_ROW: np.arange(len(inter), dtype=np.int64)})
    residents, communities = _residents(user, int(stamps.max().year) if len(stamps) else 2000)
    sources = {"residents": str(paths["user"]), "communities": str(paths["user"]),
               "services": str(paths["item"]), "interactions": str(paths["inter"])}
    frames = pseudonymise_frames({"residents": residents, "interactions": interactions})  # raw ids end here
    return Dataset.from_frames(frames["residents"], communities, _services(item), frames["interactions"],
                               sources=sources, strict=strict)


def _residents(user: pd.DataFrame, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    zip_code = user.get("zip_code", pd.Series("", index=user.index)).fillna("").str.upper()
    community = "zip-" + zip_code.str[:3].where(zip_code.str.len() > 0, "unknown")
    district = "zip-" + zip_code.str[:1].where(zip_code.str.len() > 0, "unknown")
    age = pd.to_numeric(user.get("age"), errors="coerce") if "age" in user.columns else pd.Series(np.nan, user.index)
    occupation = user.get("occupation", pd.Series("", index=user.index)).fillna("").str.lower()
    named = occupation.map(lambda o: _ML1M_CODES.get(o, o))
    employment = named.map(lambda o: _EMPLOYMENT.get(o, "employed" if o else None))
    residents = pd.DataFrame({
        C.RESIDENT: user["user_id"], C.COMMUNITY: community,
        C.BIRTH_YEAR: (year - age).astype("Int64"), C.HOUSEHOLD_SIZE: pd.NA, C.CHILDREN: pd.NA,
        C.EMPLOYMENT: employment, C.RESIDENCY: pd.NA,
        "gender": user.get("gender", pd.Series(pd.NA, index=user.index)), "occupation": named.replace("", pd.NA)})
    codes = pd.DataFrame({C.COMMUNITY: community, C.DISTRICT: district}).drop_duplicates(C.COMMUNITY)
    communities = pd.DataFrame({
        C.COMMUNITY: codes[C.COMMUNITY], C.COMMUNITY_NAME: "邮编 " + codes[C.COMMUNITY].str[4:] + " 区",
        C.STREET: codes[C.DISTRICT], C.DISTRICT: codes[C.DISTRICT]})
    return residents, communities


def _services(item: pd.DataFrame) -> pd.DataFrame:
    genre_column = next((c for c in _GENRE_COLUMNS if c in item.columns), None)
    genres = (item[genre_column].fillna("").str.split().str.join(LIST_SEPARATOR) if genre_column
              else pd.Series("", index=item.index))
    title = item.get("movie_title", item["item_id"]).fillna("").where(lambda t: t.ne(""), item["item_id"])
    year = pd.to_numeric(item["release_year"], errors="coerce") if "release_year" in item.columns else np.nan
    return pd.DataFrame({
        C.SERVICE: item["item_id"], C.CATEGORY: genres.where(genres.ne(""), "unknown"), C.NAME_ZH: title,
        C.NAME_EN: title, C.CHANNEL: "online", "release_year": year, "genres": genres})


def fetch_movielens_100k(cache_dir: str | Path, *, index_url: str | None = None, timeout_s: float = 60.0) -> Path:
    """The folder holding ``ml-100k.inter``, ``.user`` and ``.item``, fetched from the RecBole wheel once.

    Parameters
    ----------
    cache_dir : str or Path
        Cache folder; the files land in ``cache_dir/ml-100k``. When they are there, nothing is downloaded.
    index_url : str, optional
        Package index for ``pip download`` (default: pip's own configuration).
    timeout_s : float
        Network timeout of pip.

    Raises
    ------
    SourceError
        Not cached and the download (or the wheel) failed: the message says how to provide the files.
    """
    target = Path(cache_dir) / ML100K
    if all((target / f"{ML100K}.{part}").is_file() for part in _PARTS):
        return target
    with tempfile.TemporaryDirectory(prefix="linli-recbole-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--retries", "0", "--timeout", str(timeout_s), "--dest", scratch, RECBOLE_WHEEL]
        if index_url:
            command[4:4] = ["--index-url", index_url]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(scratch).glob("recbole-*.whl"))
        if done.returncode != 0 or not wheels:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise SourceError(
                f"MovieLens-100K is not cached in {target} and `pip download --no-deps {RECBOLE_WHEEL}` failed "
                f"({reason[0]}). Connect to PyPI once to fill the cache, copy ml-100k.inter/.user/.item into "
                f"{target}, or pass --data with a folder of RecBole atomic files.")
        _extract(wheels[0], target)
    return target


def _extract(wheel: Path, target: Path) -> None:
    """Copy the three ml-100k files out of the wheel (atomically: a half-written cache is never left)."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for part in _PARTS:
            member = f"{_WHEEL_FOLDER}{ML100K}.{part}"
            try:
                data = archive.read(member)
            except KeyError:
                raise SourceError(f"{wheel.name} has no {member}; the pinned {RECBOLE_WHEEL} is required") from None
            (partial / f"{ML100K}.{part}").write_bytes(data)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def load_movielens_100k(cache_dir: str | Path, **fetch: object) -> Dataset:
    """MovieLens-100K as a dataset (fetched into ``cache_dir`` on first use, see :func:`fetch_movielens_100k`)."""
    return load_recbole(fetch_movielens_100k(cache_dir, **fetch), ML100K)  # type: ignore[arg-type]


__all__ = ["ML100K", "RECBOLE_WHEEL", "SOURCE_ROW", "atomic_name", "fetch_movielens_100k", "load_movielens_100k",
           "load_recbole", "read_atomic"]
