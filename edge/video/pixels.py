"""The image operations quality.py needs, in numpy, with OpenCV's semantics (the camera worker loads no OpenCV).

Each function matches the OpenCV call named in its docstring on uint8 input: bit for bit where OpenCV
computes in integers (grey, 3x3 Gaussian, Laplacian, Sobel and Canny), to a fraction of a grey level
where it uses floats or look-up tables (area resize, Lab). tests/video/test_pixels.py holds them to
that against OpenCV itself.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]

# cv2.COLOR_BGR2GRAY: Rec. 601 weights in 15-bit fixed point, rounded (OpenCV 4.5+).
_GREY_SHIFT: Final = 15
_GREY_B, _GREY_G, _GREY_R = 3735, 19235, 9798
# Canny's direction sectors: tan(22.5 deg) in 15-bit fixed point, as OpenCV compares them.
_CANNY_SHIFT: Final = 15
_TG22: Final = round(0.4142135623730950488 * (1 << _CANNY_SHIFT))


def grey(bgr: Image) -> Image:
    """cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)."""
    y = bgr[:, :, 0].astype(np.int32) * _GREY_B
    y += bgr[:, :, 1].astype(np.int32) * _GREY_G
    y += bgr[:, :, 2].astype(np.int32) * _GREY_R
    y += 1 << (_GREY_SHIFT - 1)
    y >>= _GREY_SHIFT
    return y.astype(np.uint8)


def to_bgr(frame: Image) -> Image:
    """Grey (2-D) or BGRA to BGR, as cv2.COLOR_GRAY2BGR / COLOR_BGRA2BGR; BGR as it is."""
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.shape[2] == 4:
        return np.ascontiguousarray(frame[:, :, :3])
    return frame


def _area_taps(src: int, dst: int) -> list[tuple[Ints, Floats]]:
    """For an axis of `src` pixels reduced to `dst`: per tap, the source pixel and its weight for every
    output pixel, the weight being the share of the output pixel's footprint it covers (INTER_AREA)."""
    scale = src / dst
    lo = np.arange(dst, dtype=np.float64) * scale
    hi = np.minimum(lo + scale, src)
    start = np.floor(lo).astype(np.int32)
    taps = []
    for t in range(int(np.ceil(scale)) + 1):
        j = start + t
        share = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None) / scale
        if share.any():
            taps.append((np.minimum(j, src - 1), share.astype(np.float32)))
    return taps


def _area_axis(a: Floats | Image, dst: int, axis: int) -> Floats:
    """The weighted sums of _area_taps along `axis` (0 or 1), in float32."""
    shape = (-1, 1, 1)[: a.ndim] if axis == 0 else (1, -1, 1)[: a.ndim]
    out: Floats | None = None
    for index, weight in _area_taps(a.shape[axis], dst):
        part = np.take(a, index, axis=axis).astype(np.float32) * weight.reshape(shape)
        out = part if out is None else np.add(out, part, out=out)
    assert out is not None  # every output pixel covers at least one source pixel
    return out


def _integral(a: Floats, axis: int) -> npt.NDArray[np.float64]:
    """Along `axis`: the sum of the first 0, 1, ... n pixels."""
    csum = np.cumsum(a, axis=axis, dtype=np.float64)
    return np.concatenate([np.zeros_like(np.take(csum, [0], axis=axis)), csum], axis=axis)


def _area_mean_axis(a: Floats, dst: int, axis: int) -> Floats:
    """Means over each output pixel's footprint along `axis`, from the running sum: for a few large
    cells (the 16x9 grid) this is one pass, where taps would be one per source pixel of a cell."""
    src = a.shape[axis]
    scale = src / dst
    edges = np.arange(dst + 1, dtype=np.float64) * scale
    whole = np.minimum(np.floor(edges).astype(np.int64), src)
    part = edges - whole  # share of the pixel `whole` before each edge (0 at the last one)
    total = _integral(a, axis)
    shape = [1] * a.ndim
    shape[axis] = dst + 1
    at_edge = np.take(total, whole, axis=axis) + part.reshape(shape) * np.take(a, np.minimum(whole, src - 1), axis=axis)
    means: Floats = (np.diff(at_edge, axis=axis) / scale).astype(np.float32)
    return means


def resize_area_float(a: Floats, width: int, height: int) -> Floats:
    """cv2.resize(a, (width, height), interpolation=cv2.INTER_AREA) of a float32 image, downscaling."""
    if a.shape[1] != width:
        a = _area_mean_axis(a, width, 1)
    if a.shape[0] != height:
        a = _area_mean_axis(a, height, 0)
    return a


def _block_sums(img: Image, fx: int, fy: int) -> npt.NDArray[np.uint32]:
    # Column sums fit 16 bits up to 257 columns a block: half the memory traffic of 32.
    cols = img[:, 0::fx].astype(np.uint16 if fx <= 257 else np.uint32)
    for j in range(1, fx):
        np.add(cols, img[:, j::fx], out=cols)
    out = cols[0::fy].astype(np.uint32)
    for i in range(1, fy):
        np.add(out, cols[i::fy], out=out)
    return out


def resize_area(img: Image, width: int, height: int) -> Image:
    """cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA) of a uint8 image, downscaling.

    Whole-factor reductions (1280, 1920, 2560, 3840 -> 640) are block means in integers, rounded the
    way OpenCV's fast path rounds them; the others weigh the source pixels by the share of them each
    output pixel covers, as OpenCV does, in float32.
    """
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    fx, fy = w // width, h // height
    if fx * width == w and fy * height == h:
        sums = _block_sums(img, fx, fy)
        if fx == fy == 2:
            return ((sums + 2) >> 2).astype(np.uint8)  # OpenCV's 2x2 path rounds half up
        rounded: Image = np.rint(sums / (fx * fy)).astype(np.uint8)  # the others to even
        return rounded
    out = _area_axis(img, width, 1) if w != width else img.astype(np.float32)
    if h != height:
        out = _area_axis(out, height, 0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _reflect101(a: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    return np.pad(a, 1, mode="reflect")  # numpy's "reflect" is OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh)


def gaussian3(g: Image) -> Image:
    """cv2.GaussianBlur(g, (3, 3), 0): the [1 2 1] / 4 kernel both ways, rounded once, as OpenCV's
    bit-exact 8-bit path does."""
    p = _reflect101(g.astype(np.int32))
    rows = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
    both = rows[:-2] + 2 * rows[1:-1] + rows[2:]
    out: Image = ((both + 8) >> 4).astype(np.uint8)
    return out


def laplacian(g: Image) -> npt.NDArray[np.int32]:
    """cv2.Laplacian(g, cv2.CV_16S) (ksize 1: the 4-neighbour kernel), as int32."""
    p = _reflect101(g.astype(np.int32))
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1]


# cv2.COLOR_BGR2LAB on 8 bits, in OpenCV's own integers: a gamma table to 3 extra bits, the sRGB (D65)
# matrix with the white point divided out in 12-bit fixed point, a cube-root table in 15-bit.
_GAMMA_BITS: Final = 3
_XYZ_SHIFT: Final = 12
_LAB_SHIFT: Final = _XYZ_SHIFT + _GAMMA_BITS


def _gamma_table() -> npt.NDArray[np.int32]:
    x = np.arange(256, dtype=np.float32) / np.float32(255.0)
    lin = np.where(x <= 0.04045, x / np.float32(12.92), ((x.astype(np.float64) + 0.055) / 1.055) ** 2.4)
    table: Ints = np.rint(np.float32(255 << _GAMMA_BITS) * lin.astype(np.float32)).astype(np.int32)
    return table


def _cbrt_table() -> npt.NDArray[np.int32]:
    x = np.arange(256 * 3 // 2 << _GAMMA_BITS, dtype=np.float32) * np.float32(1.0 / (255 << _GAMMA_BITS))
    f = np.where(x < np.float32(0.008856), x * np.float32(7.787) + np.float32(16.0 / 116.0), np.cbrt(x))
    table: Ints = np.rint(np.float32(1 << _LAB_SHIFT) * f.astype(np.float32)).astype(np.int32)
    return table


def _xyz_matrix() -> npt.NDArray[np.int32]:
    rgb_to_xyz = np.array(
        [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
    )
    white = np.array([0.950456, 1.0, 1.088754])
    bgr_to_xyz = (rgb_to_xyz / white[:, None])[:, ::-1]  # columns B, G, R like the input
    matrix: Ints = np.rint(bgr_to_xyz * (1 << _XYZ_SHIFT)).astype(np.int32)
    return matrix


_GAMMA: Final = _gamma_table()
_CBRT: Final = _cbrt_table()
_XYZ: Final = _xyz_matrix()


def lab_ab(bgr: Image) -> tuple[Ints, Ints]:
    """The a and b planes of cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB) (8 bits: offset by 128)."""
    lin = [np.take(_GAMMA, bgr[:, :, c]) for c in range(3)]  # np.take: a third of fancy indexing's time
    f = []
    for m in _XYZ:
        v = lin[0] * m[0]
        v += lin[1] * m[1]
        v += lin[2] * m[2]
        v += 1 << (_XYZ_SHIFT - 1)
        v >>= _XYZ_SHIFT
        f.append(np.take(_CBRT, v))
    half = (128 << _LAB_SHIFT) + (1 << (_LAB_SHIFT - 1))
    a_plane = np.clip((500 * (f[0] - f[1]) + half) >> _LAB_SHIFT, 0, 255)
    b_plane = np.clip((200 * (f[1] - f[2]) + half) >> _LAB_SHIFT, 0, 255)
    return a_plane, b_plane


def _sobel3(g: Image) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """3x3 Sobel dx, dy with replicated borders, as Canny computes them."""
    p = np.pad(g.astype(np.int32), 1, mode="edge")
    rows = p[:-2] + 2 * p[1:-1] + p[2:]
    cols = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
    return rows[:, 2:] - rows[:, :-2], cols[2:] - cols[:-2]


def _connected(pixels_at: Ints, seeds: Mask, shape: tuple[int, int]) -> Ints:
    """Of the pixels at sorted flat indices `pixels_at`, those 8-connected through them to one flagged in
    `seeds`.

    Connected components of the row runs (a run is connected already): label propagation over the
    runs' pairs with the row below, with pointer jumping (hook and shortcut), a few rounds even for
    an edge across the whole picture.
    """
    k = pixels_at.size
    if not k:
        return pixels_at
    h, w = shape
    run_start = np.ones(k, np.bool_)
    run_start[1:] = (np.diff(pixels_at) != 1) | (pixels_at[1:] % w == 0)
    run = (np.cumsum(run_start) - 1).astype(np.int32)
    stride = w + 2
    padded = pixels_at + 2 * (pixels_at // w) + stride + 1  # the same pixels in a frame one pixel wider
    index = np.full((h + 2) * stride, -1, np.int32)
    index[padded] = run
    firsts, seconds = [], []
    for step in (stride - 1, stride, stride + 1):  # down-left, down, down-right: each pair of rows once
        other = np.take(index, padded + step)
        has = other >= 0
        firsts.append(run[has])
        seconds.append(other[has])
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    label = np.arange(int(run[-1]) + 1, dtype=np.int32)
    while True:
        la, lb = np.take(label, a), np.take(label, b)
        low = np.minimum(la, lb)
        before = label.copy()
        np.minimum.at(label, la, low)  # hook each root to the smallest label it touches
        np.minimum.at(label, lb, low)
        label = np.take(label, label)  # shortcut
        if np.array_equal(label, before):
            break
    seeded = np.zeros(label.size, np.bool_)
    seeded[np.take(label, run[seeds])] = True
    return pixels_at[np.take(seeded, np.take(label, run))]


def canny(g: Image, low: float, high: float) -> Mask:
    """cv2.Canny(g, low, high) (aperture 3, L1 gradient) as a boolean edge map.

    Non-maximum suppression with OpenCV's fixed-point direction sectors and tie rules, then hysteresis:
    pixels above `low` that survive it are edges when 8-connected to one above `high`. Only the pixels
    above `low` are looked at past the gradient.
    """
    h, w = g.shape
    dx, dy = _sobel3(g)
    mag = np.abs(dx) + np.abs(dy)
    at = np.flatnonzero(mag > int(np.floor(low))).astype(np.int32)
    m = np.pad(mag, 1).ravel()  # neighbours outside the picture have no magnitude
    stride = w + 2
    centre = at + 2 * (at // w) + stride + 1
    here = np.take(m, centre)
    xs, ys = np.take(dx, at), np.take(dy, at)
    x = np.abs(xs)
    y = np.abs(ys) << _CANNY_SHIFT
    tg22x = x * _TG22
    across = y < tg22x  # gradient within 22.5 deg of horizontal: compare left and right
    along = ~across & (y > tg22x + (x << (_CANNY_SHIFT + 1)))  # within 22.5 deg of vertical
    diag = np.where((xs ^ ys) >= 0, stride + 1, stride - 1)
    step = np.where(across, 1, np.where(along, stride, diag))
    before, after = np.take(m, centre - step), np.take(m, centre + step)
    # OpenCV's ties: the first neighbour must be strictly lower; the second may equal it on the axes.
    peak = (here > before) & np.where(across | along, here >= after, here > after)
    edges = _connected(at[peak], here[peak] > int(np.floor(high)), (h, w))
    out = np.zeros(h * w, np.bool_)
    out[edges] = True
    return out.reshape(h, w)
