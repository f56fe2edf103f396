"""Kinds of training target a data set provides and a loss consumes."""

from enum import StrEnum


class TargetKind(StrEnum):
    CLASS_INDEX = "class_index"
    REGRESSION = "regression"
