"""Writes Tests/Fixtures/exif/camera_gps.jpg: a small JPEG with EXIF date taken, camera and GPS (Pillow).

    python3 Tests/Fixtures/make_exif_fixture.py
"""
from pathlib import Path

from PIL import Image

out = Path(__file__).parent / "exif" / "camera_gps.jpg"
out.parent.mkdir(exist_ok=True)
image = Image.new("RGB", (32, 24), (200, 120, 40))
exif = Image.Exif()
exif[0x010F] = "Canon"                      # Make
exif[0x0110] = "Canon EOS 5D Mark IV"       # Model
exif[0x0132] = "2020:01:01 00:00:00"        # DateTime
exif.get_ifd(0x8769)[0x9003] = "2021:05:31 20:44:07"  # DateTimeOriginal
gps = exif.get_ifd(0x8825)
gps[1] = "N"; gps[2] = (51.0, 30.0, 26.29)  # GPSLatitudeRef, GPSLatitude
gps[3] = "W"; gps[4] = (0.0, 7.0, 39.0)     # GPSLongitudeRef, GPSLongitude
image.save(out, "JPEG", quality=80, exif=exif)
print(out, out.stat().st_size, "bytes")
