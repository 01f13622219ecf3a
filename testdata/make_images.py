#!/usr/bin/python3
# Makes the small PNG/JPEG files in testdata/images/ and their reference pixels (run with Debian's
# /usr/bin/python3: PIL decodes and torch resizes, independently of ortool's stb_image code).
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def save(name, arr):
    np.save(os.path.join(HERE, name), arr)


def bilinear(hwc, h, w):
    """Half-pixel bilinear resize (torch align_corners=False, no antialias) of HWC pixels, as float32."""
    t = torch.from_numpy(hwc.astype(np.float32)).permute(2, 0, 1)[None]
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=False)[0].permute(1, 2, 0).numpy()


def main():
    os.makedirs(HERE, exist_ok=True)
    rng = np.random.default_rng(2024)
    # RGB, 4 rows x 5 columns: exact pixels (PNG is lossless), and resizes up and down.
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(os.path.join(HERE, "rgb_4x5.png"))
    save("rgb_4x5.npy", rgb)
    save("rgb_4x5_resized_3x7.npy", bilinear(rgb, 3, 7))
    save("rgb_4x5_resized_8x2.npy", bilinear(rgb, 8, 2))
    # Gray, 3x3; read as RGB it is copied to each channel.
    gray = rng.integers(0, 256, (3, 3), dtype=np.uint8)
    Image.fromarray(gray, "L").save(os.path.join(HERE, "gray_3x3.png"))
    save("gray_3x3.npy", gray)
    # RGBA: the alpha channel is dropped (not blended).
    rgba = rng.integers(0, 256, (2, 4, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(os.path.join(HERE, "rgba_2x4.png"))
    save("rgba_2x4.npy", rgba)
    # 16-bit gray PNG: reduced to the high byte.
    g16 = rng.integers(0, 65536, (2, 3), dtype=np.uint16)
    Image.fromarray(g16.astype(np.int32), "I").convert("I;16").save(os.path.join(HERE, "gray16_2x3.png"))
    save("gray16_2x3_high_bytes.npy", (g16 >> 8).astype(np.uint8))
    # JPEG (lossy, 4:4:4): PIL's decode of the same file is the reference, within a few levels.
    smooth = np.stack(np.meshgrid(np.linspace(0, 255, 16), np.linspace(40, 200, 12)), -1)
    jpg = np.concatenate([smooth, (smooth[..., :1] + smooth[..., 1:]) / 2], -1).astype(np.uint8)
    Image.fromarray(jpg, "RGB").save(os.path.join(HERE, "photo_12x16.jpg"), quality=95, subsampling=0)
    save("photo_12x16_pil.npy", np.asarray(Image.open(os.path.join(HERE, "photo_12x16.jpg")).convert("RGB")))
    # The same, progressive: its first scans are DC only and its AC tables are defined after them.
    Image.fromarray(jpg, "RGB").save(os.path.join(HERE, "photo_12x16_progressive.jpg"), quality=95, subsampling=0,
                                     progressive=True)
    save("photo_12x16_progressive_pil.npy",
         np.asarray(Image.open(os.path.join(HERE, "photo_12x16_progressive.jpg")).convert("RGB")))


if __name__ == "__main__":
    main()
