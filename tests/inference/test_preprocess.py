"""Face crops: square boxes with margin, edge replication, 48×48 uint8 like the training data."""

import numpy as np

from aiducation.inference.preprocess import crop_face, crop_faces, square_box, to_gray


def test_square_box_is_centred_and_grown_by_margin() -> None:
    assert square_box((10, 20, 40, 20), margin=0.0) == (10, 10, 40)
    x0, y0, side = square_box((100, 100, 50, 50), margin=0.1)
    assert side == 60 and (x0, y0) == (95, 95)


def test_crop_is_48x48_uint8_and_keeps_the_face_content() -> None:
    gray = np.zeros((200, 300), np.uint8)
    gray[50:146, 100:196] = 255  # a 96×96 white face
    crop = crop_face(gray, (100, 50, 96, 96), margin=0.0)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.min() == 255  # exactly the box, nothing from outside
    with_margin = crop_face(gray, (100, 50, 96, 96), margin=0.25)
    assert with_margin[0, 0] == 0 and with_margin[24, 24] == 255


def test_boxes_leaving_the_image_repeat_the_edge() -> None:
    gray = np.tile(np.arange(100, dtype=np.uint8), (100, 1))  # value = column
    crop = crop_face(gray, (-50, 10, 100, 100), margin=0.0)
    assert crop.shape == (48, 48)
    assert (crop[:, :20] == 0).all()  # left half padded with column 0
    assert crop[:, -1].min() > 40
    assert (crop_face(gray, (500, 500, 10, 10)) == 0).all()  # entirely outside


def test_crop_faces_accepts_colour_and_no_boxes() -> None:
    bgr = np.zeros((64, 64, 3), np.uint8)
    bgr[..., 2] = 255  # pure red
    assert to_gray(bgr)[0, 0] == 76  # ITU-R 601 luma, as cv2 and PIL compute it
    assert crop_faces(bgr, [(0, 0, 32, 32), (10, 10, 20, 20)]).shape == (2, 48, 48)
    assert crop_faces(bgr, []).shape == (0, 48, 48)
