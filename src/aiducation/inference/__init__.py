"""Applying a model to classroom media: detect faces, crop, classify, track, annotate."""

from aiducation.inference.api import Analyzer, analyze_image, analyze_video
from aiducation.inference.detectors import (
    Detection,
    create_detector,
    list_detectors,
    register_detector,
)
from aiducation.inference.images import read_image
from aiducation.inference.results import FaceResult, FrameResult, VideoResult
from aiducation.limits import MAX_PIXELS

__all__ = [
    "MAX_PIXELS",
    "Analyzer",
    "Detection",
    "FaceResult",
    "FrameResult",
    "VideoResult",
    "analyze_image",
    "analyze_video",
    "create_detector",
    "list_detectors",
    "read_image",
    "register_detector",
]
