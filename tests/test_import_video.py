"""import-video (and RECOLA videos): PyAV decoding, MTCNN crops streamed to frames.npy, masking, bad input."""

import av
import numpy as np
from test_bad_input import assert_clean_failure
from test_import_recola import rater_values, write_raters
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.faces import render_frames, sample_identity
from privbench.data.importers.align import align_stream, nearest_rows
from privbench.data.importers.video import FaceSettings, import_video
from privbench.data.layout import Dataset
from privbench.data.writer import FramesAppender
from privbench.data.validate import validate

runner = CliRunner()
CANVAS, FACE = 112, 64


def face_frames(count, seed=0):
    """Synthetic faces (FACE px, AUs varying) pasted at a drifting spot of a CANVAS px grey-blue scene."""
    rng = np.random.default_rng(seed)
    faces = np.empty((count, FACE, FACE, 3), np.uint8)
    render_frames(sample_identity(rng, "F", 30.0), rng.uniform(0, 2, (count, 17)), FACE, rng, faces)
    frames = np.empty((count, CANVAS, CANVAS, 3), np.uint8)
    frames[:] = (90, 100, 120)
    for i, face in enumerate(faces):
        x = 20 + i % 8
        frames[i, 24:24 + FACE, x:x + FACE] = face
    return frames


def write_video(path, frames, fps=25):
    """An MPEG-4 video (FFmpeg's built-in encoder, in every PyAV build)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.bit_rate = 4_000_000
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def invoke(*args):
    return runner.invoke(app, ["data", *map(str, args), "--no-progress"])


def test_video_faces_are_found_cropped_and_streamed(tmp_path):
    video = write_video(tmp_path / "clip.mp4", face_frames(40))
    out = tmp_path / "ds"
    result = invoke("import-video", video, "--participant", "S1", "--frame-size", 32, "--margin", 4, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    dataset = Dataset(out)
    frames, index = dataset.frames("S1"), dataset.frame_index("S1")
    assert frames.shape == (40, 32, 32, 3) and len(index) == 40
    assert np.allclose(index["timestamp"], np.arange(40) * 0.04)
    assert index["face"].sum() >= 38, index["face"].tolist()  # MTCNN finds the synthetic faces
    assert dataset.manifest.counts["faces_not_found"] == 40 - index["face"].sum()
    found = frames[index["face"].to_numpy() == 1]
    assert found.std(axis=(1, 2, 3)).min() > 10  # crops hold a face, not flat background
    report = validate(out)
    assert report.kinds == ["face frames"] and not dataset.has_aus("S1")
    assert report.masked_frames == 40 - index["face"].sum() and report.pixel_files == ["S1/frames.npy"]
    assert dataset.manifest.fps == 25.0 and dataset.manifest.frame_size == 32


def test_frames_without_a_face_are_black_and_masked(tmp_path):
    blank = np.full((12, 64, 64, 3), 128, np.uint8)
    video = write_video(tmp_path / "blank.mp4", blank)
    out = tmp_path / "ds"
    result = invoke("import-video", video, "--frame-size", 32, "--out", out)
    assert result.exit_code == 0, result.output
    dataset = Dataset(out)
    assert dataset.frame_index("blank")["face"].tolist() == [0] * 12
    assert not dataset.frames("blank").any()
    assert dataset.manifest.counts["faces_not_found"] == 12
    assert validate(out).masked_frames == 12


def test_recola_videos_are_aligned_to_the_rating_grid(tmp_path):
    root = tmp_path / "RECOLA"
    for d, dim in enumerate(["arousal", "valence"]):
        write_raters(root / f"RECOLA-Annotation/emotional_behaviour/{dim}/P16.csv", rater_values(d))
    (root / "RECOLA-Video-recordings").mkdir()
    write_video(root / "RECOLA-Video-recordings" / "P16.mp4", face_frames(30))  # 1.2 s of the 2 s rated
    out = tmp_path / "ds"
    result = invoke("import-recola", root, "--frame-size", 32, "--out", out)
    assert result.exit_code == 0, result.output
    dataset = Dataset(out)
    index = dataset.frame_index("P16")
    assert len(index) == len(dataset.ratings("P16")) == dataset.frames("P16").shape[0] == 50
    assert np.allclose(dataset.timestamps("P16"), dataset.ratings("P16")["timestamp"])
    assert index["face"].iloc[30:].sum() == 0 and index["face"].iloc[:30].sum() >= 28
    assert validate(out).kinds == ["ratings", "face frames"]


def test_no_frames_option_keeps_pixels_out(tmp_path):
    root = tmp_path / "RECOLA"
    for d, dim in enumerate(["arousal", "valence"]):
        write_raters(root / f"RECOLA-Annotation/emotional_behaviour/{dim}/P16.csv", rater_values(d))
    (root / "RECOLA-Video-recordings").mkdir()
    (root / "RECOLA-Video-recordings" / "P16.mp4").write_bytes(b"never decoded")
    result = invoke("import-recola", root, "--no-frames", "--out", tmp_path / "ds")
    assert_clean_failure(result, "nothing to import besides ratings", tmp_path / "ds")


def test_unreadable_video_names_the_file(tmp_path):
    good = write_video(tmp_path / "good.mp4", np.full((4, 64, 64, 3), 128, np.uint8))
    bad = tmp_path / "P2.mp4"
    bad.write_bytes(b"\x00\x01 this is not a video" * 50)
    out = tmp_path / "ds"
    assert_clean_failure(invoke("import-video", good, bad, "--out", out), "P2.mp4: unreadable video", out)


def test_existing_output_is_kept_without_force(tmp_path):
    video = write_video(tmp_path / "v.mp4", np.full((4, 64, 64, 3), 128, np.uint8))
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_failure(invoke("import-video", video, "--out", out), "already exists")
    assert (out / "keep.txt").read_text() == "mine"


def test_frames_appender_fixes_the_count_on_close(tmp_path):
    with FramesAppender(tmp_path / "f.npy", 8) as frames:
        for i in range(3):
            frames.append(np.full((5, 8, 8, 3), i, np.uint8))
    loaded = np.load(tmp_path / "f.npy", mmap_mode="r")
    assert loaded.shape == (15, 8, 8, 3) and loaded[14, 0, 0, 0] == 2 and loaded[0].max() == 0


def test_streaming_alignment_equals_the_vectorised_one():
    rng = np.random.default_rng(0)
    source = np.cumsum(rng.uniform(0.01, 0.07, 300))
    target = np.arange(0, source[-1] + 1, 0.04)
    expected = nearest_rows(source, target, 0.02)
    streamed = list(align_stream(((t, i) for i, t in enumerate(source)), target, 0.02))
    assert [-1 if s is None else s for s in streamed] == expected.tolist()


def test_large_frames_are_detected_on_a_smaller_copy(tmp_path):
    video = write_video(tmp_path / "clip.mp4", face_frames(8))
    full = import_video([video], tmp_path / "full", settings=FaceSettings(size=32))
    small = import_video([video], tmp_path / "small", settings=FaceSettings(size=32, detect_side=80))
    assert full.faces_not_found == small.faces_not_found == 0
    a, b = (Dataset(tmp_path / name).frames("clip").astype(float) for name in ("full", "small"))
    assert np.abs(a - b).mean() < 20  # boxes found at 80 px, scaled back, crop the same face
