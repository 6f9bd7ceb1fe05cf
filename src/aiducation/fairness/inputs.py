"""Reading the inputs of a bias analysis: attribute CSVs, prediction CSVs, and the join.

An attribute CSV has an image id column (default ``image``) and one column per attribute,
missing values allowed. Images are matched by file stem (``fer0000003.png`` and
``fer0000003`` are the same image), so ids may carry or omit folders and extensions.

Values are compared ignoring case and surrounding spaces (``Female``, `` female `` and
``FEMALE`` are one group, reported in the spelling most of its cells use), and the usual ways of
writing "no value" (:data:`MISSING_VALUES`: ``NaN``, ``None``, ``null``, ``#N/A``, ``-``,
``unknown``, ...) leave the image without a group for that attribute, as an empty cell does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from aiducation.csvfiles import read_csv
from aiducation.errors import InputError

NON_ATTRIBUTE_COLUMNS = ("split", "usage", "label", "notes", "annotator")
"""Columns of an attribute CSV that are bookkeeping, not attributes (unless named explicitly)."""

MISSING_VALUES = frozenset(
    {
        "",
        "cannot tell",  # what ``aiducation annotate`` records
        "unsure",  # what it recorded before
        "unknown",
        "?",
        "-",
        "--",
        "na",
        "n/a",
        "#n/a",
        "<na>",
        "nan",
        "none",
        "null",
    }
)
"""Cell values read as 'no annotation', in lower case: a cell matches ignoring case and
surrounding spaces (``NaN``, `` None ``, ``NULL``, ``#N/A``, ``N/A`` all do)."""

# The predictions schema (``index, image_name, y_true, y_pred, p_<class>...``, see
# docs/outputs.md) first, then the names of files written before it (``label``/``predicted``
# by ``evaluate``/``train`` up to 0.1.0; ``image``: hand-made files).
NAME_COLUMNS = ("image_name", "image")
TRUE_COLUMNS = ("y_true", "label")
PRED_COLUMNS = ("y_pred", "predicted")


def image_key(name: str) -> str:
    """Join key of an image id: the file stem, without folders or extension."""
    return PurePosixPath(str(name).strip().replace("\\", "/")).stem


def _read_csv(path: str | Path, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    try:
        return read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV {what} file ({exc})") from exc


def _casefold(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v.casefold() if isinstance(v, str) else v)


def _attribute_values(column: pd.Series) -> pd.Series:
    """Stripped values of one attribute column, missing spellings as NaN."""
    stripped = column.map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = _casefold(stripped).isin(MISSING_VALUES) | stripped.isna()
    return stripped.astype(object).where(~missing, np.nan)


def _spellings(columns: Sequence[pd.Series]) -> dict[str, str]:
    """For each value ignoring case, the spelling most cells of ``columns`` use (a tie: the
    one seen first)."""
    present = pd.concat([c.dropna().astype(object) for c in columns])
    best: dict[str, tuple[str, int]] = {}
    if present.empty:
        return {}
    for (key, value), n in (
        present.groupby([_casefold(present), present], sort=False).size().items()
    ):
        if key not in best or n > best[key][1]:
            best[key] = (value, n)
    return {key: value for key, (value, _) in best.items()}


def _respell(column: pd.Series, spellings: dict[str, str]) -> pd.Series:
    return _casefold(column).map(lambda k: spellings[k] if isinstance(k, str) else np.nan)


def canonical_labels(column: pd.Series) -> pd.Series:
    """``column`` with values that differ only in case spelled one way: the spelling most of
    its cells use (a tie: the one seen first). NaN stays NaN."""
    return _respell(column, _spellings([column]))


def read_attributes(
    path: str | Path,
    id_column: str = "image",
    attributes: Sequence[str] | None = None,
    *,
    respell: bool = True,
) -> pd.DataFrame:
    """Attribute table indexed by image key; values are stripped strings, missing as NaN.

    Without ``attributes`` every column except the id and :data:`NON_ATTRIBUTE_COLUMNS` is one.
    Values that differ only in case are one value, spelled as most images spell it (as the file
    spells each, with ``respell=False``). An image listed twice must have the same values.
    """
    table = _read_csv(path, "attribute")
    if id_column not in table.columns:
        raise InputError(
            f"{path}: no id column {id_column!r}; columns are {', '.join(table.columns)} "
            "(choose one with --id-column)"
        )
    if attributes:
        missing = [a for a in attributes if a not in table.columns]
        if missing:
            raise InputError(
                f"{path}: no attribute column {', '.join(missing)}; "
                f"columns are {', '.join(table.columns)}"
            )
        columns = list(attributes)
    else:
        columns = [c for c in table.columns if c != id_column and c not in NON_ATTRIBUTE_COLUMNS]
    if not columns:
        raise InputError(f"{path}: no attribute columns besides {id_column!r}")
    keys = table[id_column].map(image_key)
    if (keys == "").any():
        row = int(np.flatnonzero(keys == "")[0]) + 2
        raise InputError(f"{path}: row {row}: empty {id_column!r}")
    values = table[columns].apply(_attribute_values)
    values.index = pd.Index(keys, name="image")
    duplicated = values.index.duplicated(keep=False)
    if duplicated.any():
        folded = values[duplicated].apply(_casefold)
        conflicts = folded.groupby(level=0).nunique(dropna=False).max(axis=1) > 1
        if conflicts.any():
            first = conflicts[conflicts].index[0]
            rows = (np.flatnonzero(keys == first) + 2).tolist()
            raise InputError(f"{path}: image {first!r} has conflicting values in rows {rows}")
        values = values[~values.index.duplicated()]
    return values.apply(canonical_labels) if respell else values


def read_attribute_files(
    paths: Sequence[str | Path], id_column: str = "image", attributes: Sequence[str] | None = None
) -> pd.DataFrame:
    """:func:`read_attributes` of several files (e.g. age.csv and gender.csv) joined on the image
    key: an image missing from a file has NaN there. ``attributes``: the columns to keep, each
    in at least one file. A column in two files must agree wherever both have a value."""
    tables = [(Path(p), read_attributes(p, id_column, respell=False)) for p in paths]
    merged = pd.DataFrame(index=pd.Index([], name="image"))
    origin: dict[str, Path] = {}
    for path, table in tables:
        for column in table.columns:
            if column in merged.columns:
                known = merged[column].reindex(table.index)
                both = known.notna() & table[column].notna()
                differ = both & (_casefold(known) != _casefold(table[column]))
                if differ.any():
                    image = differ[differ].index[0]
                    raise InputError(
                        f"{path}: image {image!r} has {column}={table.at[image, column]!r} but "
                        f"{origin[column]} says {merged.at[image, column]!r}"
                    )
                merged = merged.reindex(merged.index.union(table.index))
                merged[column] = merged[column].combine_first(table[column])
            else:
                merged = merged.join(table[[column]], how="outer")
                origin[column] = path
    if attributes:
        missing = [a for a in attributes if a not in merged.columns]
        if missing:
            names = ", ".join(str(p) for p, _ in tables)
            raise InputError(
                f"no attribute column {', '.join(missing)} in {names}; "
                f"columns are {', '.join(merged.columns)}"
            )
        merged = merged[list(attributes)]
    for column in merged.columns:  # one spelling across the files
        spellings = _spellings([t[column] for _, t in tables if column in t.columns])
        merged[column] = _respell(merged[column], spellings)
    return merged


def join_attributes(image_names: Sequence[str], attributes: pd.DataFrame) -> pd.DataFrame:
    """Attribute rows aligned with ``image_names`` (NaN where an image has no annotation)."""
    keys = [image_key(n) for n in image_names]
    return attributes.reindex(keys).reset_index(drop=True)


def _pick(table: pd.DataFrame, candidates: Sequence[str], path: Path, what: str) -> str:
    for name in candidates:
        if name in table.columns:
            return name
    raise InputError(
        f"{path}: no {what} column; expected one of {', '.join(candidates)}, "
        f"found {', '.join(table.columns)}"
    )


def _class_ids(values: pd.Series, classes: list[str], path: Path, column: str) -> np.ndarray:
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    lookup.update({str(i): i for i in range(len(classes))})
    ids = values.str.strip().str.lower().map(lookup)
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna())[0])
        raise InputError(
            f"{path}: row {row + 2}: {column}={values.iloc[row]!r} is not a class; "
            f"expected one of {', '.join(classes)} or 0..{len(classes) - 1}"
        )
    return ids.to_numpy(np.int64)


def read_predictions(path: str | Path, classes: list[str]) -> pd.DataFrame:
    """A predictions CSV as ``image_name, y_true, y_pred[, in_training, fold]`` (class ids).

    Reads the predictions schema that ``evaluate``, ``train`` and ``kfold`` write (class names
    or ids), the ``label``/``predicted`` columns of older ``predictions.csv`` files and an
    ``image`` column; optional ``in_training`` (true/false, 1/0) and ``fold``.
    """
    path = Path(path)
    table = _read_csv(path, "predictions")
    name = _pick(table, NAME_COLUMNS, path, "image")
    truth = _pick(table, TRUE_COLUMNS, path, "true label")
    pred = _pick(table, PRED_COLUMNS, path, "predicted label")
    out = pd.DataFrame(
        {
            "image_name": table[name].str.strip(),
            "y_true": _class_ids(table[truth], classes, path, truth),
            "y_pred": _class_ids(table[pred], classes, path, pred),
        }
    )
    if "in_training" in table.columns:
        flags = table["in_training"].str.strip().str.lower()
        mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        out["in_training"] = flags.map(mapping)
        if out["in_training"].isna().any():
            row = int(np.flatnonzero(out["in_training"].isna())[0]) + 2
            raise InputError(f"{path}: row {row}: in_training must be true/false or 1/0")
        out["in_training"] = out["in_training"].astype(bool)
    if "fold" in table.columns:
        out["fold"] = table["fold"]
    return out
