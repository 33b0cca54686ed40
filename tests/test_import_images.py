"""import-images: identity folders, grey-scale and colour images, MTCNN crops or whole images, bad input."""

import numpy as np
from PIL import Image
from test_bad_input import assert_clean_failure
from test_import_video import face_frames
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.layout import Dataset
from privbench.data.validate import validate

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["data", *map(str, args), "--no-progress"])


def gallery(root):
    """s1: three grey-scale PGM faces (AT&T style); s2: PNG faces named 2 and 10, plus a blank image."""
    faces = face_frames(5)
    (root / "s1").mkdir(parents=True)
    (root / "s2").mkdir()
    for i in range(3):
        Image.fromarray(faces[i]).convert("L").save(root / "s1" / f"{i + 1}.pgm")
    Image.fromarray(faces[3]).save(root / "s2" / "10.png")
    Image.fromarray(faces[4]).save(root / "s2" / "2.png")
    Image.fromarray(np.full((80, 60, 3), 200, np.uint8)).save(root / "s2" / "blank.jpg")
    (root / "s2" / "README.txt").write_text("not an image")
    return root


def test_image_folder_becomes_a_face_gallery(tmp_path):
    root = gallery(tmp_path / "faces")
    out = tmp_path / "ds"
    result = invoke("import-images", root, "--frame-size", 32, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    dataset = Dataset(out)
    assert dataset.ids == ["s1", "s2"]
    s1, s2 = dataset.frame_index("s1"), dataset.frame_index("s2")
    assert s1["file"].tolist() == ["1.pgm", "2.pgm", "3.pgm"]
    assert s2["file"].tolist() == ["2.png", "10.png", "blank.jpg"]  # natural order; README.txt ignored
    assert s1["face"].tolist() == [1, 1, 1] and s2["face"].tolist() == [1, 1, 0]
    frames = dataset.frames("s1")
    assert frames.shape == (3, 32, 32, 3)
    assert (frames[..., 0] == frames[..., 1]).all()  # grey-scale converted to RGB
    blank = dataset.frames("s2")[2]
    assert (blank == 200).all()  # no face found: the whole image is used, and counted
    assert dataset.manifest.counts["faces_not_found"] == 1
    report = validate(out)
    assert report.kinds == ["face frames"] and report.masked_frames == 1 and report.participants == 2


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "faces").mkdir()
    result = invoke("import-images", tmp_path / "faces", "--out", tmp_path / "ds")
    assert_clean_failure(result, "faces: no identity sub-folders", tmp_path / "ds")


def test_identity_folder_without_images_is_refused(tmp_path):
    root = gallery(tmp_path / "faces")
    (root / "s3").mkdir()
    (root / "s3" / "notes.txt").write_text("x")
    result = invoke("import-images", root, "--out", tmp_path / "ds")
    assert_clean_failure(result, "s3: no images", tmp_path / "ds")


def test_unreadable_image_names_the_file(tmp_path):
    root = gallery(tmp_path / "faces")
    (root / "s2" / "5.png").write_bytes(b"\x89PNG broken")
    result = invoke("import-images", root, "--out", tmp_path / "ds")
    assert_clean_failure(result, "s2/5.png: unreadable image", tmp_path / "ds")
