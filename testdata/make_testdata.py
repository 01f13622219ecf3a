#!/usr/bin/python3
# Makes the small models and .npy files in testdata/ (run with Debian's /usr/bin/python3; fixed seeds).
import os

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def small_convnet():
    """Conv net with a symbolic batch dim; one conv's weights are a Constant node, the rest initializers."""
    rng = np.random.default_rng(1234)
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.1
    b1 = rng.standard_normal((8,)).astype(np.float32) * 0.1
    w2 = rng.standard_normal((16, 8, 3, 3)).astype(np.float32) * 0.1
    w3 = rng.standard_normal((16, 10)).astype(np.float32) * 0.1
    b3 = rng.standard_normal((10,)).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Constant", [], ["w2"], name="w2_const", value=numpy_helper.from_array(w2, "w2")),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "small_convnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w3, "w3"), (b3, "b3"))],
    )
    model = helper.make_model(graph, producer_name="ortool-testdata", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model.doc_string = "A small conv net for ortool's tests."
    helper.set_model_props(model, {"purpose": "tests"})
    onnx.checker.check_model(model, full_check=True)
    return model


def if_matmul():
    """An If whose branches hold a MatMul with a Constant weight each; static shapes [2,4] -> [2,3]."""
    rng = np.random.default_rng(99)
    wa = rng.standard_normal((4, 3)).astype(np.float32)
    wb = rng.standard_normal((4, 3)).astype(np.float32)

    def branch(name, w):
        return helper.make_graph(
            [helper.make_node("Constant", [], [name + "_w"], value=numpy_helper.from_array(w, name + "_w")),
             helper.make_node("MatMul", ["x", name + "_w"], [name + "_y"])],
            name, [], [helper.make_tensor_value_info(name + "_y", TensorProto.FLOAT, [2, 3])])

    nodes = [
        helper.make_node("If", ["cond"], ["y"], name="choose",
                         then_branch=branch("then", wa), else_branch=branch("else", wb)),
    ]
    graph = helper.make_graph(
        nodes, "if_matmul",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, producer_name="ortool-testdata", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def local_function():
    """Model-local functions: y = ScaledRelu6(x, alpha=2) where ScaledRelu6(x) = MyRelu6(x * alpha) (an
    attribute reference) and MyRelu6(x) = Clip(x, 0, 6), both in domain 'ortool.test'; x: float[2,3]."""
    dom = "ortool.test"
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(dom, 1)]
    relu6 = helper.make_function(
        dom, "MyRelu6", ["x"], ["y"],
        [helper.make_node("Constant", [], ["lo"], value_float=0.0),
         helper.make_node("Constant", [], ["hi"], value_float=6.0),
         helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        opsets, [])
    scale = helper.make_node("Constant", [], ["a"])
    scale.attribute.append(AttributeProto(name="value_float", ref_attr_name="alpha", type=AttributeProto.FLOAT))
    scaled = helper.make_function(
        dom, "ScaledRelu6", ["x"], ["y"],
        [scale,
         helper.make_node("Mul", ["x", "a"], ["xa"]),
         helper.make_node("MyRelu6", ["xa"], ["y"], domain=dom)],
        opsets, ["alpha"])
    graph = helper.make_graph(
        [helper.make_node("ScaledRelu6", ["x"], ["y"], name="call", domain=dom, alpha=2.0)],
        "local_function",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, producer_name="ortool-testdata", producer_version="1",
                              opset_imports=opsets, functions=[relu6, scaled])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def npy_files():
    """Arrays of every supported dtype, header versions 1-3, and the layouts ortool refuses."""
    out = os.path.join(HERE, "npy")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    good = {
        "f32_2x3": rng.standard_normal((2, 3)).astype(np.float32),
        "f16_4": np.array([0.5, -2.0, 65504.0, 6e-8], dtype=np.float16),
        "f64_scalar": np.array(3.25, dtype=np.float64),
        "i8_5": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
        "i16_2": np.array([-32768, 32767], dtype=np.int16),
        "i32_2x2": np.array([[1, -2], [3, -4]], dtype=np.int32),
        "i64_3": np.array([-(2**62), 0, 2**62], dtype=np.int64),
        "u8_3": np.array([0, 128, 255], dtype=np.uint8),
        "u16_2": np.array([0, 65535], dtype=np.uint16),
        "u32_2": np.array([0, 2**32 - 1], dtype=np.uint32),
        "u64_2": np.array([0, 2**64 - 1], dtype=np.uint64),
        "bool_4": np.array([True, False, False, True]),
        "c64_2": np.array([1 + 2j, -3.5 - 0.5j], dtype=np.complex64),
        "c128_1": np.array([0.25 - 8j], dtype=np.complex128),
        "f32_0x3": np.zeros((0, 3), dtype=np.float32),
    }
    for name, a in good.items():
        np.save(os.path.join(out, name + ".npy"), a)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for major in (2, 3):
        with open(os.path.join(out, f"f32_2x3_v{major}.npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=(major, 0))
    bad = {
        "bad_big_endian": a.astype(">f4"),
        "bad_fortran": np.asfortranarray(a),
        "bad_unicode": np.array(["ab", "c"]),
    }
    for name, b in bad.items():
        np.save(os.path.join(out, name + ".npy"), b)


def shuffle_chain_dynbatch(blocks=20, c=8):
    """ShuffleNet's channel shuffle as PyTorch exports it with a symbolic batch, `blocks` times, each
    followed by a 1x1 Conv: x.view(b, 2, c/2, h, w).transpose(1, 2).view(b, -1, h, w) with b, h, w read
    by Shape/Gather. Each shuffle's shapes are known only after the one before is folded, so optimize
    needs about two rounds per block to reach its fixpoint."""
    rng = np.random.default_rng(77)
    const = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    inits = [const("i0", 0), const("i2", 2), const("i3", 3), const("ax0", [0]), const("two", [2]),
             const("half", [c // 2]), const("minus1", [-1])]
    nodes, x = [], "input"
    for k in range(blocks):
        p = f"b{k}_"
        nodes += [
            helper.make_node("Shape", [x], [p + "s"]),
            helper.make_node("Gather", [p + "s", "i0"], [p + "n"], axis=0),
            helper.make_node("Gather", [p + "s", "i2"], [p + "h"], axis=0),
            helper.make_node("Gather", [p + "s", "i3"], [p + "w"], axis=0),
            helper.make_node("Unsqueeze", [p + "n", "ax0"], [p + "un"]),
            helper.make_node("Unsqueeze", [p + "h", "ax0"], [p + "uh"]),
            helper.make_node("Unsqueeze", [p + "w", "ax0"], [p + "uw"]),
            helper.make_node("Concat", [p + "un", "two", "half", p + "uh", p + "uw"], [p + "t1"], axis=0),
            helper.make_node("Reshape", [x, p + "t1"], [p + "r1"]),
            helper.make_node("Transpose", [p + "r1"], [p + "tr"], perm=[0, 2, 1, 3, 4]),
            helper.make_node("Concat", [p + "un", "minus1", p + "uh", p + "uw"], [p + "t2"], axis=0),
            helper.make_node("Reshape", [p + "tr", p + "t2"], [p + "r2"]),
            helper.make_node("Conv", [p + "r2", p + "wt"], [p + "c"], name=p + "conv"),
            helper.make_node("Relu", [p + "c"], [p + "y"]),
        ]
        inits.append(numpy_helper.from_array((rng.standard_normal((c, c, 1, 1)) * 0.4).astype(np.float32), p + "wt"))
        x = p + "y"
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    g = helper.make_graph(nodes, "shuffle_chain_dynbatch",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", c, 8, 8])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", c, 8, 8])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_testdata")
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    return m


def main():
    onnx.save(small_convnet(), os.path.join(HERE, "small_convnet.onnx"))
    onnx.save(if_matmul(), os.path.join(HERE, "if_matmul.onnx"))
    onnx.save(local_function(), os.path.join(HERE, "local_function.onnx"))
    onnx.save(shuffle_chain_dynbatch(), os.path.join(HERE, "shuffle_chain_dynbatch.onnx"))
    npy_files()


if __name__ == "__main__":
    main()
