#!/usr/bin/env python3
"""Train a small CNN on the scikit-learn digits data set in pure numpy and export it to ONNX.

Data: sklearn.datasets.load_digits (1797 grey 8x8 images, values 0..16). Input x = image / 16.0 as
float32, shape (N, 1, 8, 8). A stratified held-out test set of 360 images
(train_test_split(..., test_size=360, stratify=y, random_state=0)); the other 1437 images train.

Network (NCHW, batch 1 in the exported graph):

    image [1,1,8,8]
    Conv(1->16, 3x3, pad 1)  Relu            -> [1,16,8,8]
    Conv(16->32, 3x3, pad 1) Relu            -> [1,32,8,8]
    MaxPool 2x2 stride 2                     -> [1,32,4,4]
    Conv(32->64, 3x3, pad 1) Relu            -> [1,64,4,4]
    MaxPool 2x2 stride 2                     -> [1,64,2,2]
    Flatten                                  -> [1,256]
    Gemm(256->64) Relu                       -> [1,64]
    Gemm(64->10)                             -> logits [1,10]
    Softmax(axis=1)                          -> probabilities [1,10]   (host op)

Forward and backward passes (im2col convolution, ReLU, max pooling, dense, softmax cross-entropy)
and the Adam optimiser are written here in numpy; `gradient_check()` compares the analytic gradients
with central differences in float64 (`--gradcheck`).

Writes into --out-dir (default: this script's folder):
    digits_cnn.onnx     the model (opset 17, ir_version 8, weights as initializers)
    digits_test.npz     "image": float32 (360,1,8,8), "label": int64 (360,)
    digits_calib.npz    "image": float32 (64,1,8,8), the first 64 training frames

Usage:
    /work/venv/bin/python models/digits/train_digits_cnn.py [--out-dir DIR] [--epochs N] [--gradcheck]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread: the float32 sums then have a fixed order, so a rerun on the same numpy build
    # and CPU type gives bit-identical weights (threaded sgemm splits sums by thread count). The
    # network is small enough that this costs only a second or two. Must precede `import numpy`.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import numpy as np

SEED = 0
TEST_SIZE = 360
NUM_CALIB = 64
NUM_CLASSES = 10

# Shape of every parameter, in graph order (also the initializer order in the ONNX model).
PARAM_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1.weight": (16, 1, 3, 3),
    "conv1.bias": (16,),
    "conv2.weight": (32, 16, 3, 3),
    "conv2.bias": (32,),
    "conv3.weight": (64, 32, 3, 3),
    "conv3.bias": (64,),
    "fc1.weight": (64, 256),  # Gemm transB=1: (out, in)
    "fc1.bias": (64,),
    "fc2.weight": (10, 64),
    "fc2.bias": (10,),
}


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (x_train, y_train, x_test, y_test); x float32 (N,1,8,8) in [0,1], y int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, random_state=0
    )
    return (
        np.ascontiguousarray(x_train, dtype=np.float32),
        np.ascontiguousarray(y_train, dtype=np.int64),
        np.ascontiguousarray(x_test, dtype=np.float32),
        np.ascontiguousarray(y_test, dtype=np.int64),
    )


# ----------------------------------------------------------------------------------------------
# layers (dtype-agnostic: float32 for training, float64 for the gradient check)
# ----------------------------------------------------------------------------------------------


def init_params(seed: int = SEED, dtype=np.float32) -> dict[str, np.ndarray]:
    """He-normal weights, zero biases."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in PARAM_SHAPES.items():
        if name.endswith(".bias"):
            params[name] = np.zeros(shape, dtype=dtype)
        else:
            fan_in = int(np.prod(shape[1:]))
            params[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)
    return params


def conv3x3_forward(x, w, b):
    """3x3 convolution, stride 1, zero padding 1, via im2col. x (N,C,H,W), w (O,C,3,3)."""
    n, c, h, wd = x.shape
    o = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N,C,H,W,3,3)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, c * 9)  # rows (n,h,w), cols (c,i,j)
    wmat = w.reshape(o, c * 9)
    out = cols @ wmat.T + b  # (N*H*W, O)
    y = out.reshape(n, h, wd, o).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(y), (x.shape, cols, w)


def conv3x3_backward(dy, cache):
    (n, c, h, wd), cols, w = cache
    o = w.shape[0]
    dout = dy.transpose(0, 2, 3, 1).reshape(n * h * wd, o)
    dw = (dout.T @ cols).reshape(w.shape)
    db = dout.sum(axis=0)
    dcols = (dout @ w.reshape(o, c * 9)).reshape(n, h, wd, c, 3, 3)
    dxp = np.zeros((n, c, h + 2, wd + 2), dtype=dy.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i : i + h, j : j + wd] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1], dw, db


def relu_forward(x):
    return np.maximum(x, 0), x > 0


def relu_backward(dy, mask):
    return dy * mask


def maxpool2_forward(x):
    """2x2 max pooling, stride 2 (H and W even). The gradient goes to the first maximum."""
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        n, c, h // 2, w // 2, 4
    )
    idx = win.argmax(axis=-1)
    y = np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]
    return y, (x.shape, idx)


def maxpool2_backward(dy, cache):
    (n, c, h, w), idx = cache
    dwin = np.zeros((n, c, h // 2, w // 2, 4), dtype=dy.dtype)
    np.put_along_axis(dwin, idx[..., None], dy[..., None], axis=-1)
    dx = dwin.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
    return dx


def dense_forward(x, w, b):
    """Gemm with transB=1: y = x @ w.T + b, w (out, in)."""
    return x @ w.T + b, (x, w)


def dense_backward(dy, cache):
    x, w = cache
    return dy @ w, dy.T @ x, dy.sum(axis=0)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy loss and its gradient w.r.t. the logits."""
    n = logits.shape[0]
    p = softmax(logits)
    loss = -np.log(p[np.arange(n), labels] + 1e-30).mean()
    dlogits = p.copy()
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits / n


# ----------------------------------------------------------------------------------------------
# network
# ----------------------------------------------------------------------------------------------


def forward(params, x, keep_cache: bool = False):
    """Return logits (N,10) (and the caches for backward when keep_cache)."""
    caches = []
    h, c = conv3x3_forward(x, params["conv1.weight"], params["conv1.bias"]); caches.append(c)
    h, c = relu_forward(h); caches.append(c)
    h, c = conv3x3_forward(h, params["conv2.weight"], params["conv2.bias"]); caches.append(c)
    h, c = relu_forward(h); caches.append(c)
    h, c = maxpool2_forward(h); caches.append(c)
    h, c = conv3x3_forward(h, params["conv3.weight"], params["conv3.bias"]); caches.append(c)
    h, c = relu_forward(h); caches.append(c)
    h, c = maxpool2_forward(h); caches.append(c)
    flat_shape = h.shape
    h = h.reshape(h.shape[0], -1)  # Flatten(axis=1), C-order as in ONNX
    h, c = dense_forward(h, params["fc1.weight"], params["fc1.bias"]); caches.append(c)
    h, c = relu_forward(h); caches.append(c)
    logits, c = dense_forward(h, params["fc2.weight"], params["fc2.bias"]); caches.append(c)
    if keep_cache:
        return logits, (caches, flat_shape)
    return logits


def backward(dlogits, cache):
    caches, flat_shape = cache
    (c_conv1, c_r1, c_conv2, c_r2, c_p1, c_conv3, c_r3, c_p2, c_fc1, c_r4, c_fc2) = caches
    g = {}
    d, g["fc2.weight"], g["fc2.bias"] = dense_backward(dlogits, c_fc2)
    d = relu_backward(d, c_r4)
    d, g["fc1.weight"], g["fc1.bias"] = dense_backward(d, c_fc1)
    d = d.reshape(flat_shape)
    d = maxpool2_backward(d, c_p2)
    d = relu_backward(d, c_r3)
    d, g["conv3.weight"], g["conv3.bias"] = conv3x3_backward(d, c_conv3)
    d = maxpool2_backward(d, c_p1)
    d = relu_backward(d, c_r2)
    d, g["conv2.weight"], g["conv2.bias"] = conv3x3_backward(d, c_conv2)
    d = relu_backward(d, c_r1)
    _, g["conv1.weight"], g["conv1.bias"] = conv3x3_backward(d, c_conv1)
    return g


def loss_and_grads(params, x, y):
    logits, cache = forward(params, x, keep_cache=True)
    loss, dlogits = softmax_cross_entropy(logits, y)
    return loss, backward(dlogits, cache)


def predict(params, x, batch: int = 256) -> np.ndarray:
    return np.concatenate([forward(params, x[i : i + batch]) for i in range(0, len(x), batch)])


def gradient_check(seed: int = 1, batch: int = 4, per_param: int = 12, eps: float = 1e-5) -> float:
    """Compare analytic and central-difference gradients in float64 on random data.

    Returns the largest relative error |num - ana| / max(1e-4, |num| + |ana|) over `per_param`
    random entries of every parameter.
    """
    rng = np.random.default_rng(seed)
    params = init_params(seed, dtype=np.float64)
    for k in params:  # non-zero biases so the bias paths are exercised too
        params[k] = params[k] + 0.1 * rng.standard_normal(params[k].shape)
    x = rng.random((batch, 1, 8, 8))
    y = rng.integers(0, NUM_CLASSES, size=batch)
    _, grads = loss_and_grads(params, x, y)
    worst = 0.0
    for name, p in params.items():
        flat = p.reshape(-1)
        for i in rng.choice(flat.size, size=min(per_param, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            lp, _ = softmax_cross_entropy(forward(params, x), y)
            flat[i] = old - eps
            lm, _ = softmax_cross_entropy(forward(params, x), y)
            flat[i] = old
            num = (lp - lm) / (2 * eps)
            ana = grads[name].reshape(-1)[i]
            # floor on the denominator: entries with |grad| ~ 1e-7 are dominated by the
            # ~1e-16 * loss / eps round-off of the central difference, not by backward errors
            rel = abs(num - ana) / max(1e-4, abs(num) + abs(ana))
            worst = max(worst, rel)
    return worst


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------


def random_shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Augmentation: shift every image by -1, 0 or +1 pixel in each direction (zero fill)."""
    n = x.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    dy = rng.integers(0, 3, size=n)
    dx = rng.integers(0, 3, size=n)
    out = np.empty_like(x)
    for a in range(3):
        for b in range(3):
            sel = (dy == a) & (dx == b)
            if sel.any():
                out[sel] = xp[sel, :, a : a + 8, b : b + 8]
    return out


def train(
    x_train,
    y_train,
    epochs: int = 40,
    batch: int = 32,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    augment: bool = True,
    seed: int = SEED,
    log=print,
) -> dict[str, np.ndarray]:
    """Adam with cosine learning-rate decay and decoupled weight decay (AdamW) on the weights."""
    rng = np.random.default_rng(seed + 1)
    params = init_params(seed)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    b1, b2, adam_eps = 0.9, 0.999, 1e-8
    n = len(x_train)
    steps_per_epoch = (n + batch - 1) // batch
    total = epochs * steps_per_epoch
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        xe = random_shift(x_train[order], rng) if augment else x_train[order]
        ye = y_train[order]
        loss_sum = 0.0
        for s in range(0, n, batch):
            loss, grads = loss_and_grads(params, xe[s : s + batch], ye[s : s + batch])
            loss_sum += loss * len(ye[s : s + batch])
            step += 1
            lr_t = 0.5 * lr * (1 + np.cos(np.pi * (step - 1) / total))
            for k in params:
                g = grads[k].astype(np.float32)
                m[k] = b1 * m[k] + (1 - b1) * g
                v[k] = b2 * v[k] + (1 - b2) * g * g
                mhat = m[k] / (1 - b1**step)
                vhat = v[k] / (1 - b2**step)
                upd = lr_t * mhat / (np.sqrt(vhat) + adam_eps)
                if k.endswith(".weight"):  # decoupled decay, following the same schedule
                    upd = upd + (lr_t / lr) * weight_decay * params[k]
                params[k] = (params[k] - upd).astype(np.float32)
        if log is not None and (epoch % 5 == 4 or epoch == epochs - 1):
            acc = (predict(params, x_train).argmax(1) == y_train).mean()
            log(f"epoch {epoch + 1:3d}  loss {loss_sum / n:.4f}  train acc {acc:.4f}")
    return params


# ----------------------------------------------------------------------------------------------
# ONNX export
# ----------------------------------------------------------------------------------------------


def build_onnx_model(params: dict[str, np.ndarray], expose_logits: bool = False):
    """Build the ONNX model (opset 17, ir_version 8) from a parameter dict shaped like PARAM_SHAPES.

    With expose_logits the Gemm output "logits" is a second graph output (used only to verify the
    export; the committed model has the single output "probabilities").
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    for name, shape in PARAM_SHAPES.items():
        if tuple(params[name].shape) != shape:
            raise ValueError(f"{name}: shape {params[name].shape}, expected {shape}")

    inits = [
        numpy_helper.from_array(np.ascontiguousarray(params[name], dtype=np.float32), name)
        for name in PARAM_SHAPES
    ]

    def conv(name, x, out):
        return helper.make_node(
            "Conv", [x, f"{name}.weight", f"{name}.bias"], [out], name=name,
            kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1,
        )

    def pool(name, x, out):
        return helper.make_node(
            "MaxPool", [x], [out], name=name, kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]
        )

    def gemm(name, x, out):
        return helper.make_node(
            "Gemm", [x, f"{name}.weight", f"{name}.bias"], [out], name=name,
            alpha=1.0, beta=1.0, transA=0, transB=1,
        )

    nodes = [
        conv("conv1", "image", "conv1_out"),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
        conv("conv2", "relu1_out", "conv2_out"),
        helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"),
        pool("pool1", "relu2_out", "pool1_out"),
        conv("conv3", "pool1_out", "conv3_out"),
        helper.make_node("Relu", ["conv3_out"], ["relu3_out"], name="relu3"),
        pool("pool2", "relu3_out", "pool2_out"),
        helper.make_node("Flatten", ["pool2_out"], ["flatten_out"], name="flatten", axis=1),
        gemm("fc1", "flatten_out", "fc1_out"),
        helper.make_node("Relu", ["fc1_out"], ["relu4_out"], name="relu4"),
        gemm("fc2", "relu4_out", "logits"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, NUM_CLASSES])]
    if expose_logits:
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, NUM_CLASSES]))
    graph = helper.make_graph(nodes, "digits_cnn", inputs, outputs, initializer=inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        ir_version=8,
        producer_name="axc models/digits/train_digits_cnn.py",
        doc_string="Small CNN on sklearn digits (8x8, x = image/16); output: class probabilities.",
    )
    return model


def check_onnx_model(model) -> None:
    """onnx.checker (full) and strict shape inference; raises on any problem."""
    import onnx

    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    shapes = {
        vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output)
    }
    expected = {
        "conv2_out": [1, 32, 8, 8], "pool1_out": [1, 32, 4, 4], "pool2_out": [1, 64, 2, 2],
        "flatten_out": [1, 256], "logits": [1, 10], "probabilities": [1, 10],
    }
    for name, shape in expected.items():
        if shapes.get(name) != shape:
            raise ValueError(f"shape inference: {name} is {shapes.get(name)}, expected {shape}")


def run_onnxruntime(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """Run the batch-1 model frame by frame; returns every graph output stacked on axis 0."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(
        model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in sess.get_outputs()]
    outs = {n: [] for n in names}
    for i in range(len(images)):
        res = sess.run(names, {"image": images[i : i + 1]})
        for n, r in zip(names, res):
            outs[n].append(r)
    return {n: np.concatenate(v) for n, v in outs.items()}


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--gradcheck", action="store_true", help="only run the numerical gradient check")
    args = ap.parse_args(argv)

    if args.gradcheck:
        worst = gradient_check()
        print(f"gradient check: max relative error {worst:.3e}")
        return 0 if worst < 1e-4 else 1

    np.random.seed(SEED)  # nothing uses the global RNG; set anyway
    x_train, y_train, x_test, y_test = load_data()
    print(f"train {x_train.shape} test {x_test.shape}")

    t0 = time.perf_counter()
    params = train(x_train, y_train, epochs=args.epochs)
    train_time = time.perf_counter() - t0

    logits_np = predict(params, x_test)
    probs_np = softmax(logits_np.astype(np.float64)).astype(np.float32)
    acc_np = float((logits_np.argmax(1) == y_test).mean())
    print(f"training time {train_time:.1f} s")
    print(f"float test accuracy (numpy): {acc_np:.4f} ({int(round(acc_np * len(y_test)))}/{len(y_test)})")

    # export, check, and verify against onnxruntime (with a logits output for a tighter check)
    model = build_onnx_model(params)
    check_onnx_model(model)
    ort_out = run_onnxruntime(build_onnx_model(params, expose_logits=True), x_test)
    d_logits = float(np.abs(ort_out["logits"] - logits_np).max())
    d_probs = float(np.abs(ort_out["probabilities"] - probs_np).max())
    acc_ort = float((ort_out["probabilities"].argmax(1) == y_test).mean())
    print(f"onnxruntime vs numpy: max |d logits| {d_logits:.2e}, max |d probabilities| {d_probs:.2e}")
    print(f"float test accuracy (onnxruntime): {acc_ort:.4f}")
    if d_logits >= 1e-4 or d_probs >= 1e-4 or acc_ort != acc_np:
        raise SystemExit("onnxruntime does not reproduce the numpy forward pass")

    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    import onnx

    onnx.save(model, str(out / "digits_cnn.onnx"))
    np.savez_compressed(out / "digits_test.npz", image=x_test, label=y_test)
    np.savez_compressed(out / "digits_calib.npz", image=x_train[:NUM_CALIB])
    for f in ("digits_cnn.onnx", "digits_test.npz", "digits_calib.npz"):
        print(f"wrote {out / f} ({os.path.getsize(out / f)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
