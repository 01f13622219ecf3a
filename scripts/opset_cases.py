"""The cases of scripts/opset_vs_ort.py: ops of opsets 18 to 23 with their newer semantics.

A case is one op at one opset with attributes and seeded inputs (graph inputs, or initializers where
the op wants a constant); `nodes` builds a small graph instead where ONNX Runtime's JavaScript API
cannot feed or fetch a type (float8, bfloat16: a Cast before or after). `ort_fails` marks a case
ONNX Runtime 1.30 does not run, with the reason; the harness checks that it indeed fails.
Also ONNX Runtime's com.microsoft quantized elementwise ops (`contrib_quant`), which ortool must compute
to the same bytes (the quantized files it writes and runs use them).
"""
import io
import zlib

import numpy as np
from onnx import helper, TensorProto as TP

NP_ONNX = {np.dtype(np.int16): TP.INT16, np.dtype(np.uint16): TP.UINT16}
F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, UINT4, INT4, F4E2M1 = 17, 18, 19, 20, 21, 22, 23


class Packed4:
    """An int4/uint4 tensor: values one per element, packed two per byte (low nibble first) on the wire."""

    def __init__(self, values, signed):
        self.values = np.asarray(values, dtype=np.int8 if signed else np.uint8)
        self.signed = signed

    def packed(self):
        v = (self.values.reshape(-1).astype(np.int16) & 0xF).astype(np.uint8)
        if v.size % 2:
            v = np.append(v, np.uint8(0))
        return (v[0::2] | (v[1::2] << 4)).astype(np.uint8)


class In:
    def __init__(self, value, const, name=None):
        self.value, self.const, self.name = value, const, name


def X(value, name=None):
    """A graph input fed at run time."""
    return In(value, False, name)


def K(value, name=None):
    """An initializer."""
    return In(value, True, name)


class Case:
    def __init__(self, name, op, opset, inputs, attrs=None, outputs=1, out_types=None, nodes=None, domain='',
                 rtol=1e-4, atol=1e-5, ort_fails='', fetch_as=None, ort_differs='', reference=None, int_atol=0):
        self.name, self.op, self.opset, self.inputs = name, op, opset, inputs
        self.attrs = attrs or {}
        self.outputs, self.out_types, self.nodes, self.domain = outputs, out_types, nodes, domain
        self.rtol, self.atol, self.ort_fails = rtol, atol, ort_fails
        # Cast every output to this type (ONNX Runtime's JavaScript API crashes fetching int4/uint4).
        self.fetch_as = fetch_as
        # Where ONNX Runtime departs from the ONNX spec (`ort_differs` says how), ortool is compared with
        # `reference(*graph input values)` instead, a numpy rendering of the spec (ONNX's reference).
        self.ort_differs, self.reference = ort_differs, reference
        # Integer outputs may differ by this much (0: exactly equal); set only with the reason.
        self.int_atol = int_atol


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


class Maker:
    """Collects cases; each case's random data comes from a generator seeded by its name."""

    def __init__(self):
        self.cases = []
        self.r = None

    def seed(self, name):
        self.r = _rng(name)
        return self

    def f(self, *shape, lo=None, hi=None, dtype=np.float32):
        if lo is not None:
            return self.r.uniform(lo, hi, shape).astype(dtype)
        return self.r.standard_normal(shape).astype(dtype)

    def i(self, lo, hi, *shape, dtype=np.int64):
        return self.r.integers(lo, hi, shape).astype(dtype)

    def add(self, name, op, opset, inputs, **kw):
        self.cases.append(Case(name, op, opset, inputs, **kw))


def raw_tensor(name, data_type, dims, raw):
    """A TensorProto from raw bytes, for the types onnx 1.12's helper cannot write (float8, bfloat16)."""
    t = TP(name=name, data_type=data_type, dims=dims)
    t.raw_data = bytes(raw)
    return t


def i64(*v):
    return np.array(v, dtype=np.int64)


def cast_around(op, attrs, to, back=TP.FLOAT, n_in=1):
    """nodes(): Cast the first n_in inputs to `to`, run `op`, Cast its output back to `back`."""
    def build(ins, outs):
        nodes, mid = [], []
        for k, name in enumerate(ins):
            if k < n_in and name:
                nodes.append(helper.make_node('Cast', [name], [f'c{k}'], to=to))
                mid.append(f'c{k}')
            else:
                mid.append(name)
        nodes.append(helper.make_node(op, mid, ['y'], **attrs))
        nodes.append(helper.make_node('Cast', ['y'], [outs[0]], to=back))
        return nodes
    return build


def chain(*specs):
    """nodes(): a chain of ops; spec = (op, attrs, extra inputs). The first takes all graph inputs."""
    def build(ins, outs):
        nodes, prev = [], None
        for k, (op, attrs, extra) in enumerate(specs):
            out = outs[0] if k == len(specs) - 1 else f't{k}'
            src = list(ins) if prev is None else [prev] + list(extra)
            nodes.append(helper.make_node(op, src, [out], **attrs))
            prev = out
        return nodes
    return build


def to_4bit_spec(x, signed):
    """ONNX's cast to int4/uint4 (onnx.helper's float32_to_4bit_unpacked): clamp, then round half to even."""
    lo, hi = (-8, 7) if signed else (0, 15)
    return np.rint(np.clip(np.asarray(x, np.float64), lo, hi))


def e5m2_spec(x, saturate):
    """ONNX's float32 -> float8e5m2 -> float32: round to nearest even on the e5m2 grid (2 mantissa bits,
    exponents -14..15, subnormal step 2^-16); beyond 57344 +-57344 when saturating, else +-inf."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    fin = np.isfinite(x)
    a = np.abs(x[fin])
    e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
    step = 2.0 ** (np.maximum(e, -14) - 2)
    r = np.round(a / step) * step
    big = r > 57344
    r[big] = 57344 if saturate else np.inf
    out[fin] = np.copysign(r, x[fin])
    inf = np.isinf(x)
    out[inf] = np.copysign(57344 if saturate else np.inf, x[inf])
    return out.astype(np.float32)


def split_spec(x, delimiter=None, maxsplit=None):
    """ONNX's StringSplit (its reference: Python's str.split; no delimiter splits on any whitespace),
    padded with '' to the longest split."""
    parts = [s.split(delimiter or None, -1 if maxsplit is None else maxsplit) for s in x.reshape(-1)]
    width = max((len(p) for p in parts), default=0)
    out = np.array([p + [''] * (width - len(p)) for p in parts], dtype=object).reshape(x.shape + (width,))
    return [out, np.array([len(p) for p in parts], np.int64).reshape(x.shape)]


def attention_spec(q, k, v, mask, softcap, mode):
    """ONNX's Attention (4-D, one kv head per q head) in float64: scores, + mask, softcap, softmax; Y and
    the scores at the point `mode` names (0: QK^T scaled, 1: + mask, 2: softcapped, 3: softmax)."""
    q, k, v, mask = (np.asarray(a, np.float64) for a in (q, k, v, mask))
    s0 = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1])
    s1 = s0 + mask
    s2 = softcap * np.tanh(s1 / softcap) if softcap > 0 else s1
    e = np.exp(s2 - s2.max(-1, keepdims=True))
    s3 = e / e.sum(-1, keepdims=True)
    return [s3 @ v, (s0, s1, s2, s3)[mode]]


# --- opset 18 ---------------------------------------------------------------------------------

def reductions(m):
    ops = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
           'ReduceLogSumExp', 'ReduceSumSquare', 'ReduceSum']
    for op in ops:
        pos = op in ('ReduceLogSum',)
        for opset in (18, 20):
            n = f'{op.lower()}_{opset}_axes_input'
            m.seed(n)
            x = m.f(2, 3, 4, lo=0.1, hi=2.0) if pos else m.f(2, 3, 4)
            m.add(n, op, opset, [X(x), K(i64(0, -1))], attrs={'keepdims': 1})
            n = f'{op.lower()}_{opset}_keepdims0'
            m.seed(n)
            x = m.f(2, 3, 4, lo=0.1, hi=2.0) if pos else m.f(2, 3, 4)
            m.add(n, op, opset, [X(x), K(i64(1))], attrs={'keepdims': 0})
        n = f'{op.lower()}_18_no_axes'
        m.seed(n)
        x = m.f(3, 4, lo=0.1, hi=2.0) if pos else m.f(3, 4)
        m.add(n, op, 18, [X(x)], attrs={'keepdims': 0})
        n = f'{op.lower()}_18_empty_axes_noop'
        m.seed(n)
        x = m.f(3, 4, lo=0.1, hi=2.0) if pos else m.f(3, 4)
        m.add(n, op, 18, [X(x), K(np.zeros(0, np.int64))], attrs={'noop_with_empty_axes': 1})
        n = f'{op.lower()}_18_axes_runtime'
        m.seed(n)
        x = m.f(2, 3, 4, lo=0.1, hi=2.0) if pos else m.f(2, 3, 4)
        m.add(n, op, 18, [X(x), X(i64(2), 'axes')])
    m.seed('reducemax_20_bool')
    m.add('reducemax_20_bool', 'ReduceMax', 20, [X(m.i(0, 2, 3, 4, dtype=np.bool_)), K(i64(1))])
    m.seed('reducemin_20_bool')
    m.add('reducemin_20_bool', 'ReduceMin', 20, [X(m.i(0, 2, 3, 4, dtype=np.bool_)), K(i64(0))])
    m.seed('reducemax_18_int32')
    m.add('reducemax_18_int32', 'ReduceMax', 18, [X(m.i(-50, 50, 3, 4, dtype=np.int32)), K(i64(1))])


def pads(m):
    for opset in (18, 19, 21, 23):
        for mode in ('constant', 'reflect', 'edge') + (('wrap',) if opset >= 19 else ()):
            n = f'pad_{opset}_{mode}'
            m.seed(n)
            ins = [X(m.f(2, 3, 4, 5)), K(i64(0, 1, 2, 0, 0, 2, 1, 0))]
            if mode == 'constant':
                ins.append(K(np.array(1.5, np.float32)))
            m.add(n, 'Pad', opset, ins, attrs={'mode': mode})
        n = f'pad_{opset}_axes'
        m.seed(n)
        m.add(n, 'Pad', opset, [X(m.f(2, 3, 4, 5)), K(i64(1, 2, 3, 0)), None, K(i64(1, -1))], attrs={'mode': 'constant'})
    m.seed('pad_18_negative_crop')
    m.add('pad_18_negative_crop', 'Pad', 18, [X(m.f(3, 6)), K(i64(-1, 2, 0, -2))])
    m.seed('pad_19_wrap_axes')
    m.add('pad_19_wrap_axes', 'Pad', 19, [X(m.f(1, 2, 3, 4)), K(i64(2, 3, 1, 2)), None, K(i64(2, 3))],
          attrs={'mode': 'wrap'})
    m.seed('pad_19_wrap_large')
    m.add('pad_19_wrap_large', 'Pad', 19, [X(m.f(2, 3)), K(i64(0, 4, 0, 5))], attrs={'mode': 'wrap'},
          ort_differs='a wrap pad longer than the axis leaves its first elements 0',
          reference=lambda x: [np.pad(x, [(0, 0), (4, 5)], mode='wrap')])
    for mode in ('reflect', 'edge'):  # negative pads crop before the padding mode reads the input
        m.seed(f'pad_18_{mode}_negative')
        m.add(f'pad_18_{mode}_negative', 'Pad', 18, [X(m.f(4, 5)), K(i64(-1, 2, 2, -2))], attrs={'mode': mode})
    m.seed('pad_19_wrap_negative')
    m.add('pad_19_wrap_negative', 'Pad', 19, [X(m.f(4, 5)), K(i64(-1, 2, 1, -2))], attrs={'mode': 'wrap'})
    m.seed('pad_19_reflect_int64')
    m.add('pad_19_reflect_int64', 'Pad', 19, [X(m.i(-9, 9, 3, 4)), K(i64(1, 2, 1, 2))], attrs={'mode': 'reflect'})


def center_crop_pad(m):
    shapes = [('crop', (6, 8, 3), (4, 5, 3), None), ('pad', (3, 4, 2), (5, 7, 2), None),
              ('mixed', (5, 4, 3), (3, 7, 3), None), ('axes', (3, 10, 7), (6, 4), [1, 2]),
              ('neg_axes', (2, 5, 7), (3, 4), [-2, -1]), ('odd', (7, 7), (4, 10), None)]
    for n, xs, s, axes in shapes:
        name = f'centercroppad_18_{n}'
        m.seed(name)
        m.add(name, 'CenterCropPad', 18, [X(m.f(*xs)), K(np.array(s, np.int64))],
              attrs={'axes': axes} if axes else None)


def splits(m):
    for opset in (18, 23):
        n = f'split_{opset}_num_outputs_uneven'
        m.seed(n)
        m.add(n, 'Split', opset, [X(m.f(2, 10))], attrs={'axis': 1, 'num_outputs': 3}, outputs=3)
        n = f'split_{opset}_num_outputs_even'
        m.seed(n)
        m.add(n, 'Split', opset, [X(m.f(6, 4))], attrs={'axis': 0, 'num_outputs': 2}, outputs=2)
        n = f'split_{opset}_split_input'
        m.seed(n)
        m.add(n, 'Split', opset, [X(m.f(2, 7)), K(i64(2, 5))], attrs={'axis': -1}, outputs=2)
    m.seed('split_18_num_outputs_4_of_7')
    m.add('split_18_num_outputs_4_of_7', 'Split', 18, [X(m.f(7, 2))], attrs={'num_outputs': 4}, outputs=4)


def scatters(m):
    for red in ('none', 'add', 'mul', 'max', 'min'):
        n = f'scatterelements_18_{red}'
        m.seed(n)
        data = m.f(3, 4)
        idx = np.array([[1, 0, 2, 1], [0, 2, 1, 0]], np.int64)
        if red == 'none':
            idx = np.array([[1, 0, 2, 1], [0, 2, 1, 2]], np.int64)
        m.add(n, 'ScatterElements', 18, [X(data), K(idx), X(m.f(2, 4))], attrs={'axis': 0, 'reduction': red})
        n = f'scatternd_18_{red}'
        m.seed(n)
        idx = np.array([[0], [2], [0]], np.int64) if red != 'none' else np.array([[0], [2]], np.int64)
        m.add(n, 'ScatterND', 18, [X(m.f(4, 3)), K(idx), X(m.f(len(idx), 3))], attrs={'reduction': red})
    m.seed('scatterelements_18_max_int32_axis1')
    m.add('scatterelements_18_max_int32_axis1', 'ScatterElements', 18,
          [X(m.i(-9, 9, 2, 5, dtype=np.int32)), K(np.array([[0, 4, 0], [3, 3, 1]], np.int64)),
           X(m.i(-9, 9, 2, 3, dtype=np.int32))], attrs={'axis': 1, 'reduction': 'max'})
    m.seed('scatternd_18_min_int64_slices')
    m.add('scatternd_18_min_int64_slices', 'ScatterND', 18,
          [X(m.i(-9, 9, 2, 3, 4)), K(np.array([[1, 2], [0, 0], [1, 2]], np.int64)), X(m.i(-9, 9, 3, 4))],
          attrs={'reduction': 'min'})


def bitwise(m):
    for op in ('BitwiseAnd', 'BitwiseOr', 'BitwiseXor'):
        for dt in (np.int32, np.uint8, np.int64, np.uint16, np.int8):
            n = f'{op.lower()}_18_{np.dtype(dt).name}'
            m.seed(n)
            info = np.iinfo(dt)
            m.add(n, op, 18, [X(m.i(info.min, info.max, 3, 4, dtype=dt)), X(m.i(info.min, info.max, 4, dtype=dt))])
    for dt in (np.int32, np.uint8, np.int64, np.uint64):
        n = f'bitwisenot_18_{np.dtype(dt).name}'
        m.seed(n)
        info = np.iinfo(dt)
        m.add(n, 'BitwiseNot', 18, [X(m.i(0 if info.min == 0 else -1000, 1000, 3, 4, dtype=dt))])


def misc18(m):
    m.seed('mish_18')
    m.add('mish_18', 'Mish', 18, [X(m.f(3, 7) * 4)])
    m.seed('mish_22_double')
    m.add('mish_22_double', 'Mish', 22, [X(m.f(3, 7, dtype=np.float64) * 4)], rtol=1e-9, atol=1e-12,
          ort_fails='no double Softplus-22 kernel')
    m.seed('optionalhaselement_18_tensor')
    m.add('optionalhaselement_18_tensor', 'OptionalHasElement', 18, [X(m.f(2, 3))], out_types=[TP.BOOL])
    m.seed('optionalgetelement_18_tensor')
    m.add('optionalgetelement_18_tensor', 'OptionalGetElement', 18, [X(m.f(2, 3))])
    m.seed('col2im_18_basic')
    m.add('col2im_18_basic', 'Col2Im', 18, [X(m.f(1, 5 * 4, 12)), K(i64(4, 5)), K(i64(2, 2))])
    m.seed('col2im_18_strides_pads_dilations')
    # image 6x7, block 2x3, dilation 2x1, pads 1,0,1,2, strides 2,2 -> blocks over (8x9): 3 x 4
    m.add('col2im_18_strides_pads_dilations', 'Col2Im', 18, [X(m.f(2, 3 * 6, 12)), K(i64(6, 7)), K(i64(2, 3))],
          attrs={'dilations': [2, 1], 'pads': [1, 0, 1, 2], 'strides': [2, 2]})
    for opset, scale_c in ((18, False), (21, True)):
        n = f'groupnormalization_{opset}'
        m.seed(n)
        c, g = 6, 3
        shape = [c] if scale_c else [g]
        m.add(n, 'GroupNormalization', opset, [X(m.f(2, c, 4, 5)), K(m.f(*shape)), K(m.f(*shape))],
              attrs={'num_groups': g, 'epsilon': 1e-3}, rtol=1e-3, atol=1e-4)
    m.seed('groupnormalization_21_stash_double')
    m.add('groupnormalization_21_stash_double', 'GroupNormalization', 21,
          [X(m.f(1, 4, 3, dtype=np.float64)), K(m.f(4, dtype=np.float64)), K(m.f(4, dtype=np.float64))],
          attrs={'num_groups': 2}, rtol=1e-6, atol=1e-9)
    m.seed('groupnormalization_21_groups_eq_channels')
    m.add('groupnormalization_21_groups_eq_channels', 'GroupNormalization', 21,
          [X(m.f(2, 4, 6)), K(m.f(4)), K(m.f(4))], attrs={'num_groups': 4}, rtol=1e-3, atol=1e-4)
    for opset in (18, 22):
        n = f'lppool_{opset}_ceil_dilations'
        m.seed(n)
        m.add(n, 'LpPool', opset, [X(m.f(1, 2, 7, 8))],
              attrs={'kernel_shape': [3, 2], 'p': 2, 'ceil_mode': 1, 'strides': [2, 2], 'dilations': [1, 2]},
              rtol=1e-4)
        n = f'lppool_{opset}_p3_pads'
        m.seed(n)
        m.add(n, 'LpPool', opset, [X(m.f(1, 2, 6, 6))],
              attrs={'kernel_shape': [2, 2], 'p': 3, 'pads': [1, 1, 0, 0]}, rtol=1e-4)


# --- opset 19 ---------------------------------------------------------------------------------

def misc19(m):
    m.add('equal_19_string', 'Equal', 19,
          [X(np.array(['a', 'bb', 'c', ''], dtype=object)), X(np.array(['a', 'b', 'c', ''], dtype=object))],
          out_types=[TP.BOOL])
    m.add('equal_19_string_broadcast', 'Equal', 19,
          [X(np.array([['x', 'y'], ['y', 'z']], dtype=object)), X(np.array(['y'], dtype=object))],
          out_types=[TP.BOOL])
    for opset in (19, 22):
        n = f'averagepool_{opset}_dilations'
        m.seed(n)
        m.add(n, 'AveragePool', opset, [X(m.f(1, 2, 8, 9))],
              attrs={'kernel_shape': [2, 3], 'dilations': [2, 2], 'strides': [1, 2]})
        n = f'averagepool_{opset}_dilations_pads_ceil'
        m.seed(n)
        m.add(n, 'AveragePool', opset, [X(m.f(1, 1, 7, 7))],
              attrs={'kernel_shape': [3, 3], 'dilations': [2, 1], 'strides': [2, 2], 'pads': [1, 1, 1, 1],
                     'ceil_mode': 1, 'count_include_pad': 0})
        n = f'averagepool_{opset}_dilations_count_pad'
        m.seed(n)
        m.add(n, 'AveragePool', opset, [X(m.f(1, 1, 6, 6))],
              attrs={'kernel_shape': [2, 2], 'dilations': [2, 2], 'pads': [1, 1, 1, 1], 'count_include_pad': 1})
    m.seed('averagepool_19_1d_dilations')
    m.add('averagepool_19_1d_dilations', 'AveragePool', 19, [X(m.f(2, 3, 11))],
          attrs={'kernel_shape': [3], 'dilations': [3]})
    for opset in (19, 21, 23):
        for op, attrs in (('Identity', {}), ('Shape', {'start': 1}), ('Size', {}),
                          ('Flatten', {'axis': 2}), ('Transpose', {'perm': [2, 0, 1]}),
                          ('Squeeze', None), ('Unsqueeze', None), ('Reshape', None)):
            if op in ('Flatten', 'Transpose', 'Squeeze', 'Unsqueeze') and opset < 21:
                continue
            n = f'{op.lower()}_{opset}'
            m.seed(n)
            ins = [X(m.f(2, 1, 3))]
            if op == 'Squeeze':
                ins.append(K(i64(1)))
            if op == 'Unsqueeze':
                ins.append(K(i64(0, 4)))
            if op == 'Reshape':
                ins.append(K(i64(3, -1)))
            out_t = [TP.INT64] if op in ('Shape', 'Size') else None
            m.add(n, op, opset, ins, attrs=attrs, out_types=out_t)
    m.seed('reshape_19_allowzero')
    m.add('reshape_19_allowzero', 'Reshape', 19, [X(m.f(0, 3)), K(i64(3, 0))], attrs={'allowzero': 1})
    m.seed('shape_19_start_end_negative')
    m.add('shape_19_start_end_negative', 'Shape', 19, [X(m.f(2, 3, 4, 5))], attrs={'start': -3, 'end': -1},
          out_types=[TP.INT64])


def float8(m):
    """Cast and QuantizeLinear/DequantizeLinear through the float8 types (opset 19), cast back to float."""
    names = {F8E4M3FN: 'e4m3fn', F8E4M3FNUZ: 'e4m3fnuz', F8E5M2: 'e5m2', F8E5M2FNUZ: 'e5m2fnuz'}
    special = np.array([0.0, -0.0, 1e-9, -1e-9, 0.001, 0.0019, 448.0, 449.0, 464.0, 500.0, -500.0, 57344.0,
                        61440.0, 1e6, -1e6, 240.0, 0.3, 0.33, 1.125, 1.0625, np.inf, -np.inf, np.nan,
                        2.0 ** -9, 2.0 ** -10, 2.0 ** -16, 2.0 ** -17, 3 * 2.0 ** -10], np.float32)
    for t, tn in names.items():
        for sat in (1, 0):
            n = f'cast_19_float_to_{tn}_saturate{sat}'
            m.seed(n)
            x = np.concatenate([special, m.f(40) * 50])
            kw = {}
            if t == F8E5M2 and not sat:
                kw = dict(ort_differs='61440, halfway between e5m2\'s largest value and the next power of two, '
                                      'becomes NaN instead of inf (round to nearest even overflows)',
                          reference=lambda x: [e5m2_spec(x, False)])
            m.add(n, 'Cast', 19, [X(x)], nodes=chain(('Cast', {'to': t, 'saturate': sat}, []),
                                                     ('Cast', {'to': TP.FLOAT}, [])), out_types=[TP.FLOAT],
                  rtol=0, atol=0, **kw)
        n = f'cast_19_float16_to_{tn}'
        m.seed(n)
        m.add(n, 'Cast', 19, [X((m.f(30) * 30).astype(np.float16))],
              nodes=chain(('Cast', {'to': t}, []), ('Cast', {'to': TP.FLOAT16}, [])), rtol=0, atol=0)
        n = f'castlike_19_{tn}'
        m.seed(n)
        m.add(n, 'CastLike', 19, [X(m.f(20) * 10)],
              nodes=lambda ins, outs, t=t: [
                  helper.make_node('Constant', [], ['like'], value=raw_tensor('v', t, [1], [0])),
                  helper.make_node('CastLike', [ins[0], 'like'], ['y']),
                  helper.make_node('Cast', ['y'], [outs[0]], to=TP.FLOAT)], rtol=0, atol=0)
        for sat in (1, 0):
            n = f'quantizelinear_19_{tn}_saturate{sat}'
            m.seed(n)
            m.add(n, 'QuantizeLinear', 19, [X(np.concatenate([special[:20], m.f(20) * 100])), K(np.array(2.0, np.float32))],
                  nodes=lambda ins, outs, t=t, sat=sat: [
                      helper.make_node('Constant', [], ['zp'], value=raw_tensor('zp', t, [], [0])),
                      helper.make_node('QuantizeLinear', [ins[0], ins[1], 'zp'], ['q'], saturate=sat),
                      helper.make_node('Cast', ['q'], [outs[0]], to=TP.FLOAT)], rtol=0, atol=0)
        n = f'dequantizelinear_19_{tn}'
        m.seed(n)
        m.add(n, 'DequantizeLinear', 19, [X(m.f(4, 5) * 20), K(np.array([0.5, 2, 1, 4, 3], np.float32))],
              nodes=lambda ins, outs, t=t: [
                  helper.make_node('Cast', [ins[0]], ['q'], to=t),
                  helper.make_node('DequantizeLinear', ['q', ins[1]], [outs[0]], axis=1)], rtol=0, atol=0)
    m.seed('dequantizelinear_19_float16_scale')
    m.add('dequantizelinear_19_float16_scale', 'DequantizeLinear', 19,
          [X(m.i(0, 255, 3, 4, dtype=np.uint8)), K(np.array(0.25, np.float16)), K(np.array(100, np.uint8))],
          out_types=[TP.FLOAT16])
    m.seed('quantizelinear_19_float16_input')
    m.add('quantizelinear_19_float16_input', 'QuantizeLinear', 19,
          [X((m.f(3, 4) * 10).astype(np.float16)), K(np.array(0.5, np.float16)), K(np.array(-3, np.int8))],
          out_types=[TP.INT8])


def resize_cases(m):
    for mode in ('linear', 'cubic'):
        n = f'resize_18_antialias_{mode}_down'
        m.seed(n)
        m.add(n, 'Resize', 18, [X(m.f(1, 2, 12, 16)), None, K(np.array([1, 1, 0.4, 0.55], np.float32))],
              attrs={'mode': mode, 'antialias': 1}, rtol=1e-4, atol=1e-5)
        n = f'resize_18_antialias_{mode}_sizes'
        m.seed(n)
        m.add(n, 'Resize', 18, [X(m.f(1, 1, 17, 9)), None, None, K(i64(1, 1, 5, 4))],
              attrs={'mode': mode, 'antialias': 1, 'coordinate_transformation_mode': 'pytorch_half_pixel'},
              rtol=1e-4, atol=1e-5)
        n = f'resize_18_antialias_{mode}_up'
        m.seed(n)
        m.add(n, 'Resize', 18, [X(m.f(1, 1, 4, 5)), None, K(np.array([1, 1, 2.0, 1.5], np.float32))],
              attrs={'mode': mode, 'antialias': 1})
    m.seed('resize_18_antialias_linear_align_corners')
    m.add('resize_18_antialias_linear_align_corners', 'Resize', 18,
          [X(m.f(1, 1, 9, 10)), None, None, K(i64(1, 1, 4, 3))],
          attrs={'mode': 'linear', 'antialias': 1, 'coordinate_transformation_mode': 'align_corners'})
    m.seed('resize_18_antialias_cubic_exclude_outside')
    m.add('resize_18_antialias_cubic_exclude_outside', 'Resize', 18,
          [X(m.f(1, 1, 10, 10)), None, K(np.array([1, 1, 0.3, 0.6], np.float32))],
          attrs={'mode': 'cubic', 'antialias': 1, 'exclude_outside': 1, 'cubic_coeff_a': -0.5})
    m.seed('resize_18_antialias_uint8')
    m.add('resize_18_antialias_uint8', 'Resize', 18,
          [X(m.i(0, 256, 1, 8, 8, 3, dtype=np.uint8)), None, K(np.array([1, 0.5, 0.4, 1], np.float32))],
          attrs={'mode': 'linear', 'antialias': 1},
          int_atol=1)  # ONNX Runtime's uint8 path uses fixed-point weights: some values are 1 off
    m.seed('resize_18_antialias_3d_axes')
    m.add('resize_18_antialias_3d_axes', 'Resize', 18,
          [X(m.f(2, 11, 13)), None, K(np.array([0.5, 0.3], np.float32))],
          attrs={'mode': 'linear', 'antialias': 1, 'axes': [1, 2]})
    for policy in ('not_larger', 'not_smaller'):
        n = f'resize_18_keep_aspect_{policy}'
        m.seed(n)
        m.add(n, 'Resize', 18, [X(m.f(1, 1, 6, 8)), None, None, K(i64(9, 10))],
              attrs={'mode': 'nearest', 'keep_aspect_ratio_policy': policy, 'axes': [2, 3]})
    m.seed('resize_18_axes_scales')
    m.add('resize_18_axes_scales', 'Resize', 18, [X(m.f(1, 2, 4, 6)), None, K(np.array([2.0, 0.5], np.float32))],
          attrs={'mode': 'linear', 'axes': [3, 2]})
    m.seed('resize_19_half_pixel_symmetric')
    m.add('resize_19_half_pixel_symmetric', 'Resize', 19, [X(m.f(1, 1, 5, 7)), None, K(np.array([1, 1, 1.7, 0.6], np.float32))],
          attrs={'mode': 'linear', 'coordinate_transformation_mode': 'half_pixel_symmetric'})
    m.seed('resize_19_half_pixel_symmetric_nearest')
    m.add('resize_19_half_pixel_symmetric_nearest', 'Resize', 19,
          [X(m.f(1, 1, 4, 4)), None, None, K(i64(1, 1, 7, 3))],
          attrs={'mode': 'nearest', 'coordinate_transformation_mode': 'half_pixel_symmetric'})


def deform_conv(m):
    def add(n, opset, x, w, oh, ow, attrs, b=True, mask=True, og=1):
        m.seed(n)
        kh, kw = w[2], w[3]
        ins = [X(m.f(*x)), K(m.f(*w)), X(m.f(x[0], og * 2 * kh * kw, oh, ow) * 1.5)]
        ins.append(K(m.f(w[0])) if b else None)
        if mask:
            ins.append(X(m.f(x[0], og * kh * kw, oh, ow, lo=0.0, hi=1.0)))
        m.add(n, 'DeformConv', opset, ins, attrs=attrs, rtol=1e-4, atol=1e-4)
    add('deformconv_19_basic', 19, (1, 2, 5, 5), (3, 2, 3, 3), 3, 3, {'kernel_shape': [3, 3]})
    add('deformconv_19_no_mask_no_bias', 19, (2, 2, 4, 5), (2, 2, 2, 2), 3, 4, {}, b=False, mask=False)
    add('deformconv_19_pads_strides_dilations', 19, (1, 3, 7, 6), (4, 3, 3, 2), 4, 2,
        {'pads': [1, 0, 1, 1], 'strides': [2, 3], 'dilations': [1, 2]})
    add('deformconv_19_groups_offset_groups', 19, (1, 4, 5, 5), (4, 2, 2, 2), 4, 4,
        {'group': 2, 'offset_group': 2}, og=2)
    add('deformconv_22', 22, (1, 2, 4, 4), (2, 2, 3, 3), 4, 4, {'pads': [1, 1, 1, 1]})


# --- opset 20 ---------------------------------------------------------------------------------

def misc20(m):
    for ac in (0, 1):
        n = f'affinegrid_20_2d_align{ac}'
        m.seed(n)
        m.add(n, 'AffineGrid', 20, [X(m.f(2, 2, 3)), K(i64(2, 3, 5, 6))], attrs={'align_corners': ac})
        n = f'affinegrid_20_3d_align{ac}'
        m.seed(n)
        m.add(n, 'AffineGrid', 20, [X(m.f(1, 3, 4)), K(i64(1, 1, 3, 4, 2))], attrs={'align_corners': ac})
    m.seed('affinegrid_20_size_input')
    m.add('affinegrid_20_size_input', 'AffineGrid', 20, [X(m.f(1, 2, 3)), X(i64(1, 1, 1, 4), 'size')])
    for approx in ('none', 'tanh'):
        n = f'gelu_20_{approx}'
        m.seed(n)
        m.add(n, 'Gelu', 20, [X(m.f(4, 9) * 3)], attrs={'approximate': approx})
    m.seed('gelu_20_double')
    m.add('gelu_20_double', 'Gelu', 20, [X(m.f(5, 3, dtype=np.float64) * 3)], rtol=1e-9, atol=1e-12,
          ort_fails='no double Erf kernel (Gelu runs as its function)')
    m.seed('gelu_20_float16')
    m.add('gelu_20_float16', 'Gelu', 20, [X((m.f(5, 3) * 3).astype(np.float16))], rtol=2e-3, atol=2e-3)
    m.add('constantofshape_20', 'ConstantOfShape', 20, [K(i64(2, 3))],
          attrs={'value': helper.make_tensor('v', TP.FLOAT, [1], [2.5])}, out_types=[TP.FLOAT])
    m.add('constantofshape_21_int8', 'ConstantOfShape', 21, [X(i64(3, 1), 'shape')],
          attrs={'value': helper.make_tensor('v', TP.INT8, [1], [-7])}, out_types=[TP.INT8])
    m.add('constantofshape_20_bfloat16', 'ConstantOfShape', 20, [X(i64(2, 2), 'shape')],
          nodes=lambda ins, outs: [
              helper.make_node('ConstantOfShape', ins, ['c'], value=raw_tensor('v', TP.BFLOAT16, [1], [0xC0, 0x3F])),
              helper.make_node('Cast', ['c'], [outs[0]], to=TP.FLOAT)], out_types=[TP.FLOAT])
    m.seed('isinf_20')
    x = np.array([1.0, np.inf, -np.inf, np.nan, 0.0, -3.0], np.float32)
    m.add('isinf_20', 'IsInf', 20, [X(x)], out_types=[TP.BOOL])
    m.add('isinf_20_negative_only', 'IsInf', 20, [X(x)], attrs={'detect_positive': 0}, out_types=[TP.BOOL])
    m.add('isnan_20', 'IsNaN', 20, [X(x)], out_types=[TP.BOOL])
    m.add('isnan_20_float16', 'IsNaN', 20, [X(x.astype(np.float16))], out_types=[TP.BOOL])
    for opset in (20,):
        for mode in ('linear', 'nearest', 'cubic'):
            for pad in ('zeros', 'border', 'reflection'):
                for ac in (0, 1):
                    n = f'gridsample_{opset}_{mode}_{pad}_align{ac}'
                    m.seed(n)
                    m.add(n, 'GridSample', opset, [X(m.f(1, 2, 4, 5)), X(m.f(1, 3, 6, 2) * 1.2)],
                          attrs={'mode': mode, 'padding_mode': pad, 'align_corners': ac}, rtol=1e-4, atol=1e-4)
        for mode in ('linear', 'nearest'):
            for pad in ('zeros', 'border', 'reflection'):
                n = f'gridsample_{opset}_3d_{mode}_{pad}'
                m.seed(n)
                m.add(n, 'GridSample', opset, [X(m.f(1, 2, 3, 4, 5)), X(m.f(1, 2, 3, 4, 3) * 1.2)],
                      attrs={'mode': mode, 'padding_mode': pad}, rtol=1e-4, atol=1e-4)
    m.seed('gridsample_22')
    m.add('gridsample_22', 'GridSample', 22, [X(m.f(2, 1, 3, 3)), X(m.f(2, 2, 2, 2))], attrs={'mode': 'linear'})


def dft_cases(m):
    for opset in (17, 20):
        axis_in = opset >= 20
        for name, shape, inverse, onesided, axis, length in (
                ('real', (2, 8, 1), 0, 0, 1, None), ('complex', (2, 6, 2), 0, 0, 1, None),
                ('inverse', (1, 5, 2), 1, 0, 1, None), ('onesided', (3, 8, 1), 0, 1, 1, None),
                ('onesided_odd', (2, 7, 1), 0, 1, 1, None), ('length_pad', (2, 5, 2), 0, 0, 1, 8),
                ('length_trunc', (2, 9, 1), 0, 0, 1, 4), ('axis2', (2, 3, 6, 2), 0, 0, 2, None),
                ('axis_neg', (2, 4, 3, 2), 1, 0, -3, None)):
            if not axis_in and axis < 0:
                continue
            n = f'dft_{opset}_{name}'
            m.seed(n)
            ins = [X(m.f(*shape))]
            ins.append(K(i64(length).reshape(())) if length else None)
            attrs = {'inverse': inverse, 'onesided': onesided}
            if axis_in:
                ins.append(K(np.array(axis, np.int64)))
            else:
                attrs['axis'] = axis
            while ins and ins[-1] is None:
                ins.pop()
            m.add(n, 'DFT', opset, ins, attrs=attrs, rtol=1e-4, atol=1e-4)
    m.seed('dft_20_default_axis')
    m.add('dft_20_default_axis', 'DFT', 20, [X(m.f(2, 5, 4, 2))], rtol=1e-4, atol=1e-4)
    m.seed('dft_20_double_axis_runtime')
    m.add('dft_20_double_axis_runtime', 'DFT', 20, [X(m.f(3, 4, 2, dtype=np.float64)), None, X(np.array(0, np.int64), 'axis')],
          rtol=1e-9, atol=1e-9)


def strings20(m):
    m.add('regexfullmatch_20', 'RegexFullMatch', 20,
          [X(np.array(['www.google.com', 'www.facebook.com', 'www.bbc.co.uk', 'google.com'], dtype=object))],
          attrs={'pattern': r'www\.[\w.-]+\.\bcom\b'}, out_types=[TP.BOOL])
    m.add('regexfullmatch_20_2d', 'RegexFullMatch', 20,
          [X(np.array([['abc', 'a1'], ['', 'zzz9']], dtype=object))], attrs={'pattern': r'[a-z]*\d?'},
          out_types=[TP.BOOL])
    m.add('stringconcat_20', 'StringConcat', 20,
          [X(np.array(['a', 'bc', ''], dtype=object)), X(np.array(['x', '', 'yz'], dtype=object))])
    m.add('stringconcat_20_broadcast', 'StringConcat', 20,
          [X(np.array([['a', 'b'], ['c', 'd']], dtype=object)), X(np.array(['!'], dtype=object))])
    for name, x, attrs, differs in (
            ('basic', ['a,b,c', 'x', 'd,,e'], {'delimiter': ','}, ''),
            ('empty_string', ['a,b', ''], {'delimiter': ','},
             'an empty string splits into no substrings (Python\'s \'\'.split(\',\') is [\'\'])'),
            ('whitespace', ['  hello  world ', 'one', ' ', 'a b  c'], {}, ''),
            ('whitespace_tab', ['a b\tc', 'd\ne'], {}, 'only spaces count as whitespace, not tabs or newlines'),
            ('maxsplit', ['1,2,3,4', 'a,b', 'z'], {'delimiter': ',', 'maxsplit': 1}, ''),
            ('multichar', ['a--b--c', '--x', 'y--'], {'delimiter': '--'}, '')):
        kw = {}
        if differs:
            kw = dict(ort_differs=differs, reference=lambda x, a=attrs: split_spec(x, a.get('delimiter'),
                                                                                   a.get('maxsplit')))
        m.add(f'stringsplit_20_{name}', 'StringSplit', 20, [X(np.array(x, dtype=object))], attrs=attrs, outputs=2,
              out_types=[TP.STRING, TP.INT64], **kw)
    m.add('stringsplit_20_2d', 'StringSplit', 20, [X(np.array([['a b', 'c'], ['d e f', '']], dtype=object))],
          outputs=2, out_types=[TP.STRING, TP.INT64])


def image_decoder(m):
    from PIL import Image
    r = _rng('imagedecoder')
    img = Image.fromarray(r.integers(0, 256, (5, 7, 3)).astype(np.uint8), 'RGB')
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    png = np.frombuffer(buf.getvalue(), np.uint8).copy()
    for fmt in ('RGB', 'BGR', 'Grayscale'):
        m.add(f'imagedecoder_20_png_{fmt.lower()}', 'ImageDecoder', 20, [X(png)], attrs={'pixel_format': fmt},
              ort_fails='no ImageDecoder kernel')


# --- opset 21 ---------------------------------------------------------------------------------

ORT_4BIT_CAST = ('casts to int4/uint4 keep the low 4 bits (wrapping) and round halves away from zero; ONNX '
                 'clamps to the range and rounds half to even')


def int4(m):
    for signed, t, tn in ((True, INT4, 'int4'), (False, UINT4, 'uint4')):
        n = f'cast_21_float_to_{tn}'
        m.seed(n)
        x = np.concatenate([np.array([-9.5, -8.5, -8, -7.5, -0.5, 0.5, 1.5, 2.5, 7.4, 7.5, 8, 15.5, 16, 100, -100],
                                     np.float32), m.f(20) * 8])
        m.add(n, 'Cast', 21, [X(x)], nodes=chain(('Cast', {'to': t}, []), ('Cast', {'to': TP.FLOAT}, [])),
              out_types=[TP.FLOAT], ort_differs=ORT_4BIT_CAST,
              reference=lambda x, s=signed: [to_4bit_spec(x, s).astype(np.float32)])
        n = f'cast_21_int32_to_{tn}'
        m.seed(n)
        m.add(n, 'Cast', 21, [X(m.i(-40, 40, 30, dtype=np.int32))],
              nodes=chain(('Cast', {'to': t}, []), ('Cast', {'to': TP.INT32}, [])), ort_differs=ORT_4BIT_CAST,
              reference=lambda x, s=signed: [to_4bit_spec(x, s).astype(np.int32)])
        vals = m.i(-8, 8, 3, 5) if signed else m.i(0, 16, 3, 5)
        n = f'cast_21_{tn}_input_to_float'
        m.add(n, 'Cast', 21, [K(Packed4(vals, signed))], attrs={'to': TP.FLOAT}, out_types=[TP.FLOAT])
        n = f'cast_21_{tn}_odd_count_to_int8'
        m.add(n, 'Cast', 21, [K(Packed4(vals[:, :3], signed))], attrs={'to': TP.INT8}, out_types=[TP.INT8])
        for op, attrs, extra, ort in (('Identity', {}, [], 'no int4 Identity-21 kernel'),
                                      ('Transpose', {'perm': [1, 0]}, [], ''),
                                      ('Reshape', {}, [K(i64(5, 3))], 'no int4 Reshape-21 kernel'),
                                      ('Flatten', {'axis': 0}, [], 'no int4 Flatten-21 kernel'),
                                      ('Unsqueeze', {}, [K(i64(1))], 'no int4 Unsqueeze-21 kernel')):
            n = f'{op.lower()}_21_{tn}'
            m.add(n, op, 21, [K(Packed4(vals, signed))] + extra, attrs=attrs, fetch_as=TP.INT8, ort_fails=ort)
        # QuantizeLinear to 4 bits, per tensor, per axis and blocked; the output fetched as int4/uint4.
        zp0 = Packed4(np.array(1 if signed else 3), signed)
        n = f'quantizelinear_21_{tn}_per_tensor'
        m.seed(n)
        m.add(n, 'QuantizeLinear', 21, [X(m.f(4, 6) * 4), K(np.array(0.5, np.float32)), K(zp0)], fetch_as=TP.INT8)
        n = f'quantizelinear_21_{tn}_per_axis'
        m.seed(n)
        zp = Packed4(m.i(-2, 3, 4) if signed else m.i(5, 9, 4), signed)
        m.add(n, 'QuantizeLinear', 21, [X(m.f(3, 4, 2) * 4), K(np.array([0.5, 1, 0.25, 2], np.float32)), K(zp)],
              attrs={'axis': 1}, fetch_as=TP.INT8)
        n = f'quantizelinear_21_{tn}_blocked'
        m.seed(n)
        scale = m.f(4, 3, lo=0.2, hi=1.0)
        zp = Packed4(m.i(-2, 3, 4, 3) if signed else m.i(5, 9, 4, 3), signed)
        m.add(n, 'QuantizeLinear', 21, [X(m.f(4, 6) * 4), K(scale), K(zp)], attrs={'axis': 1, 'block_size': 2},
              fetch_as=TP.INT8)
        n = f'quantizelinear_21_{tn}_blocked_ragged'
        m.seed(n)
        scale = m.f(2, 5, lo=0.2, hi=1.0)
        m.add(n, 'QuantizeLinear', 21, [X(m.f(7, 5) * 4), K(scale)], attrs={'axis': 0, 'block_size': 4,
                                                                          'output_dtype': t}, fetch_as=TP.INT8)
        n = f'dequantizelinear_21_{tn}_per_tensor'
        m.seed(n)
        m.add(n, 'DequantizeLinear', 21, [K(Packed4(vals, signed)), K(np.array(0.5, np.float32)), K(zp0)],
              out_types=[TP.FLOAT])
        n = f'dequantizelinear_21_{tn}_blocked'
        m.seed(n)
        w = Packed4(m.i(-8, 8, 6, 4) if signed else m.i(0, 16, 6, 4), signed)
        zp = Packed4(m.i(-2, 3, 2, 4) if signed else m.i(5, 9, 2, 4), signed)
        m.add(n, 'DequantizeLinear', 21, [K(w), K(m.f(2, 4, lo=0.1, hi=1.0)), K(zp)],
              attrs={'axis': 0, 'block_size': 3}, out_types=[TP.FLOAT])
        n = f'dequantizelinear_21_{tn}_blocked_axis1_ragged'
        m.seed(n)
        w = Packed4(m.i(-8, 8, 3, 7) if signed else m.i(0, 16, 3, 7), signed)
        m.add(n, 'DequantizeLinear', 21, [K(w), K(m.f(3, 2, lo=0.1, hi=1.0))],
              attrs={'axis': 1, 'block_size': 4}, out_types=[TP.FLOAT])
    for dt in (np.int16, np.uint16):
        tn = np.dtype(dt).name
        info = np.iinfo(dt)
        n = f'quantizelinear_21_{tn}'
        m.seed(n)
        m.add(n, 'QuantizeLinear', 21, [X(m.f(3, 4) * 30000), K(np.array(2.0, np.float32)), K(np.array(7, dt))],
              out_types=[NP_ONNX[np.dtype(dt)]])
        n = f'dequantizelinear_21_{tn}'
        m.seed(n)
        m.add(n, 'DequantizeLinear', 21, [X(m.i(info.min, info.max, 3, 4, dtype=dt)), K(np.array(0.01, np.float32)),
                                          K(np.array(-5 if info.min else 5, dt))], out_types=[TP.FLOAT])
    m.seed('quantizelinear_21_int8_blocked')
    m.add('quantizelinear_21_int8_blocked', 'QuantizeLinear', 21,
          [X(m.f(2, 8) * 50), K(m.f(2, 2, lo=0.2, hi=1.0)), K(m.i(-3, 3, 2, 2, dtype=np.int8))],
          attrs={'axis': 1, 'block_size': 4}, out_types=[TP.INT8])
    m.seed('dequantizelinear_21_uint8_blocked_float16')
    m.add('dequantizelinear_21_uint8_blocked_float16', 'DequantizeLinear', 21,
          [X(m.i(0, 256, 4, 3, dtype=np.uint8)), K(m.f(2, 3, lo=0.1, hi=1.0, dtype=np.float16)),
           K(m.i(100, 150, 2, 3, dtype=np.uint8))], attrs={'axis': 0, 'block_size': 2}, out_types=[TP.FLOAT16])
    m.seed('quantizelinear_21_output_dtype_uint8')
    m.add('quantizelinear_21_output_dtype_uint8', 'QuantizeLinear', 21, [X(m.f(3, 3) * 100), K(np.array(1.5, np.float32))],
          attrs={'output_dtype': TP.UINT8}, out_types=[TP.UINT8])
    m.seed('quantizelinear_21_output_dtype_int8')
    m.add('quantizelinear_21_output_dtype_int8', 'QuantizeLinear', 21, [X(m.f(3, 3) * 100), K(np.array(1.5, np.float32))],
          attrs={'output_dtype': TP.INT8}, out_types=[TP.INT8])
    m.seed('qlinearmatmul_21')
    m.add('qlinearmatmul_21', 'QLinearMatMul', 21,
          [X(m.i(0, 256, 2, 3, dtype=np.uint8)), K(np.array(0.05, np.float32)), K(np.array(120, np.uint8)),
           K(m.i(0, 256, 3, 4, dtype=np.uint8)), K(np.array(0.02, np.float32)), K(np.array(130, np.uint8)),
           K(np.array(0.1, np.float32)), K(np.array(125, np.uint8))])
    m.seed('qlinearmatmul_21_int8')
    m.add('qlinearmatmul_21_int8', 'QLinearMatMul', 21,
          [X(m.i(-128, 128, 2, 3, dtype=np.int8)), K(np.array(0.05, np.float32)), K(np.array(2, np.int8)),
           K(m.i(-128, 128, 3, 4, dtype=np.int8)), K(np.array(0.02, np.float32)), K(np.array(-1, np.int8)),
           K(np.array(0.1, np.float32)), K(np.array(3, np.int8))])


# --- opset 22 ---------------------------------------------------------------------------------

def opset22(m):
    """Ops whose version 22 only added bfloat16: the float version must still run."""
    unary = ['Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Cos', 'Cosh', 'Sin', 'Sinh', 'Tan', 'Elu',
             'HardSigmoid', 'HardSwish', 'Selu', 'Softplus', 'Softsign', 'ThresholdedRelu', 'Round']
    for op in unary:
        n = f'{op.lower()}_22'
        m.seed(n)
        lo, hi = {'Acos': (-0.9, 0.9), 'Asin': (-0.9, 0.9), 'Atanh': (-0.9, 0.9), 'Acosh': (1.1, 4)}.get(op, (-3, 3))
        m.add(n, op, 22, [X(m.f(3, 4, lo=lo, hi=hi))])
    m.seed('conv_22')
    m.add('conv_22', 'Conv', 22, [X(m.f(1, 2, 5, 5)), K(m.f(3, 2, 3, 3)), K(m.f(3))], attrs={'pads': [1, 1, 1, 1]})
    m.seed('convtranspose_22')
    m.add('convtranspose_22', 'ConvTranspose', 22, [X(m.f(1, 2, 3, 3)), K(m.f(2, 3, 2, 2))], attrs={'strides': [2, 2]})
    m.seed('maxpool_22')
    m.add('maxpool_22', 'MaxPool', 22, [X(m.f(1, 2, 5, 5))], attrs={'kernel_shape': [2, 2]})
    m.seed('globalaveragepool_22')
    m.add('globalaveragepool_22', 'GlobalAveragePool', 22, [X(m.f(1, 3, 4, 4))])
    m.seed('globalmaxpool_22')
    m.add('globalmaxpool_22', 'GlobalMaxPool', 22, [X(m.f(1, 3, 4, 4))])
    m.seed('globallppool_22')
    m.add('globallppool_22', 'GlobalLpPool', 22, [X(m.f(1, 3, 4, 4))], ort_fails='no GlobalLpPool-22 kernel')
    m.seed('instancenormalization_22')
    m.add('instancenormalization_22', 'InstanceNormalization', 22, [X(m.f(2, 3, 4)), K(m.f(3)), K(m.f(3))], rtol=1e-3)
    m.seed('lpnormalization_22')
    m.add('lpnormalization_22', 'LpNormalization', 22, [X(m.f(3, 4))])
    m.seed('dropout_22')
    m.add('dropout_22', 'Dropout', 22, [X(m.f(3, 4))])
    m.seed('eyelike_22')
    m.add('eyelike_22', 'EyeLike', 22, [X(m.f(3, 4))], attrs={'k': 1})
    m.seed('det_22')
    m.add('det_22', 'Det', 22, [X(m.f(2, 3, 3))], rtol=1e-4)
    m.seed('roialign_22')
    m.add('roialign_22', 'RoiAlign', 22, [X(m.f(1, 2, 6, 6)), K(np.array([[0, 0, 4, 4], [1, 1, 5, 3]], np.float32)),
                                          K(i64(0, 0))], attrs={'output_height': 2, 'output_width': 2},
          ort_fails='no RoiAlign-22 kernel')
    m.seed('maxroipool_22')
    m.add('maxroipool_22', 'MaxRoiPool', 22, [X(m.f(1, 2, 6, 6)), K(np.array([[0, 0, 0, 4, 4]], np.float32))],
          attrs={'pooled_shape': [2, 2]}, ort_fails='no MaxRoiPool-22 kernel')
    m.seed('maxunpool_22')
    m.add('maxunpool_22', 'MaxUnpool', 22, [X(m.f(1, 1, 2, 2)), K(i64(0, 3, 9, 14).reshape(1, 1, 2, 2))],
          attrs={'kernel_shape': [2, 2], 'strides': [2, 2]})
    m.seed('negativeloglikelihoodloss_22')
    m.add('negativeloglikelihoodloss_22', 'NegativeLogLikelihoodLoss', 22, [X(m.f(3, 4)), K(i64(1, 0, 3))])
    for op in ('RNN', 'GRU', 'LSTM'):
        n = f'{op.lower()}_22'
        m.seed(n)
        gates = {'RNN': 1, 'GRU': 3, 'LSTM': 4}[op]
        m.add(n, op, 22, [X(m.f(3, 2, 4)), K(m.f(1, gates * 5, 4)), K(m.f(1, gates * 5, 5))],
              attrs={'hidden_size': 5}, rtol=1e-4)


# --- opset 23 ---------------------------------------------------------------------------------

def attention(m):
    def add(n, q, k, v, attrs=None, mask=None, past=None, outputs=1, tol=1e-4):
        m.seed(n)
        ins = [X(m.f(*q)), X(m.f(*k)), X(m.f(*v))]
        if mask is not None or past is not None:
            ins.append(mask(m) if mask else None)
        if past is not None:
            ins += [X(m.f(*past[0]), 'past_key'), X(m.f(*past[1]), 'past_value')]
        m.add(n, 'Attention', 23, ins, attrs=attrs, outputs=outputs, rtol=tol, atol=tol)
    add('attention_23_4d', (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8))
    add('attention_23_4d_v_head', (1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 6))
    add('attention_23_3d', (2, 4, 12), (2, 5, 12), (2, 5, 12), {'q_num_heads': 3, 'kv_num_heads': 3})
    add('attention_23_3d_gqa', (1, 3, 16), (1, 5, 8), (1, 5, 8), {'q_num_heads': 4, 'kv_num_heads': 2})
    add('attention_23_4d_gqa', (1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4))
    add('attention_23_scale', (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), {'scale': 0.3})
    add('attention_23_causal', (1, 2, 4, 4), (1, 2, 4, 4), (1, 2, 4, 4), {'is_causal': 1})
    add('attention_23_causal_cross', (1, 1, 3, 4), (1, 1, 5, 4), (1, 1, 5, 4), {'is_causal': 1})
    add('attention_23_bool_mask', (1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4),
        mask=lambda m: X(m.i(0, 2, 3, 5, dtype=np.bool_) | np.eye(3, 5, dtype=np.bool_), 'mask'))
    add('attention_23_float_mask', (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4),
        mask=lambda m: X(m.f(2, 1, 3, 5), 'mask'))
    add('attention_23_float_mask_causal', (1, 2, 4, 4), (1, 2, 4, 4), (1, 2, 4, 4), {'is_causal': 1},
        mask=lambda m: X(m.f(4, 4), 'mask'))
    add('attention_23_softcap', (1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), {'softcap': 2.0})
    add('attention_23_past', (1, 2, 2, 4), (1, 2, 3, 4), (1, 2, 3, 4), past=((1, 2, 4, 4), (1, 2, 4, 4)),
        outputs=3)
    add('attention_23_past_causal', (1, 2, 2, 4), (1, 2, 2, 4), (1, 2, 2, 4), {'is_causal': 1},
        past=((1, 2, 3, 4), (1, 2, 3, 4)), outputs=3)
    add('attention_23_past_mask_3d', (1, 2, 8), (1, 3, 8), (1, 3, 8), {'q_num_heads': 2, 'kv_num_heads': 2},
        mask=lambda m: X(m.f(2, 7), 'mask'), past=((1, 2, 4, 4), (1, 2, 4, 4)), outputs=3)
    for mode in (0, 1, 2, 3):
        n = f'attention_23_qk_output_mode{mode}'
        m.seed(n)
        m.add(n, 'Attention', 23, [X(m.f(1, 2, 3, 4)), X(m.f(1, 2, 5, 4)), X(m.f(1, 2, 5, 4)), X(m.f(3, 5), 'mask')],
              attrs={'qk_matmul_output_mode': mode, 'softcap': 3.0},
              nodes=lambda ins, outs, mode=mode: [helper.make_node(
                  'Attention', ins, [outs[0], '', '', outs[1]], qk_matmul_output_mode=mode, softcap=3.0)],
              outputs=2, rtol=1e-4, atol=1e-4,
              ort_differs='softcap is applied before the mask is added; ONNX adds the mask first',
              reference=lambda q, k, v, mask, mode=mode: [o.astype(np.float32)
                                                          for o in attention_spec(q, k, v, mask, 3.0, mode)])
    m.seed('attention_23_double')
    m.add('attention_23_double', 'Attention', 23, [X(m.f(1, 1, 3, 4, dtype=np.float64)) for _ in range(3)],
          rtol=1e-12, atol=1e-12, ort_differs='double inputs are computed with errors near 1e-8',
          reference=lambda q, k, v: attention_spec(q, k, v, 0.0, 0.0, 3)[:1])
    m.seed('attention_23_float16')
    m.add('attention_23_float16', 'Attention', 23,
          [X(m.f(1, 2, 3, 4).astype(np.float16)), X(m.f(1, 2, 3, 4).astype(np.float16)),
           X(m.f(1, 2, 3, 4).astype(np.float16))], rtol=3e-3, atol=3e-3)
    m.seed('attention_23_bool_mask_all_false_row')
    mask = np.ones((3, 4), np.bool_)
    mask[1] = False
    m.add('attention_23_bool_mask_all_false_row', 'Attention', 23,
          [X(m.f(1, 1, 3, 4)), X(m.f(1, 1, 4, 4)), X(m.f(1, 1, 4, 4)), X(mask, 'mask')], rtol=1e-4, atol=1e-4)


def rms_norm(m):
    for n, shape, axis, dt in (('last', (2, 3, 8), -1, np.float32), ('axis1', (2, 3, 4), 1, np.float32),
                               ('2d', (5, 6), -1, np.float32), ('double', (3, 4), -1, np.float64),
                               ('float16', (2, 8), -1, np.float16)):
        name = f'rmsnormalization_23_{n}'
        m.seed(name)
        a = axis if axis >= 0 else len(shape) + axis
        scale = m.f(*shape[a:]).astype(dt)
        tol = 2e-3 if dt == np.float16 else 1e-5
        m.add(name, 'RMSNormalization', 23, [X(m.f(*shape).astype(dt)), K(scale)],
              attrs={'axis': axis, 'epsilon': 1e-4}, rtol=tol, atol=tol)
    m.seed('rmsnormalization_23_scale_broadcast')
    m.add('rmsnormalization_23_scale_broadcast', 'RMSNormalization', 23, [X(m.f(2, 3, 4)), K(m.f(4))],
          attrs={'axis': 1})


def rotary(m):
    def add(n, x, cos_shape, pos=None, attrs=None):
        m.seed(n)
        ins = [X(m.f(*x)), K(m.f(*cos_shape, lo=-1, hi=1)), K(m.f(*cos_shape, lo=-1, hi=1))]
        if pos is not None:
            ins.append(X(pos(m), 'position_ids'))
        m.add(n, 'RotaryEmbedding', 23, ins, attrs=attrs, rtol=1e-5, atol=1e-5)
    # 4-D input: (batch, num_heads, seq, head_size); cos/sin (max_pos, rotary_dim/2) with position_ids
    add('rotaryembedding_23_4d', (1, 2, 3, 8), (10, 4), pos=lambda m: m.i(0, 10, 1, 3))
    add('rotaryembedding_23_4d_interleaved', (2, 2, 3, 8), (10, 4), pos=lambda m: m.i(0, 10, 2, 3),
        attrs={'interleaved': 1})
    add('rotaryembedding_23_3d', (2, 3, 12), (8, 2), pos=lambda m: m.i(0, 8, 2, 3), attrs={'num_heads': 3})
    add('rotaryembedding_23_partial', (1, 2, 3, 8), (6, 2), pos=lambda m: m.i(0, 6, 1, 3),
        attrs={'rotary_embedding_dim': 4})
    add('rotaryembedding_23_partial_interleaved_3d', (1, 3, 16), (6, 2), pos=lambda m: m.i(0, 6, 1, 3),
        attrs={'rotary_embedding_dim': 4, 'interleaved': 1, 'num_heads': 2})
    add('rotaryembedding_23_no_position_ids', (2, 2, 3, 8), (2, 3, 4))
    add('rotaryembedding_23_no_position_ids_3d', (2, 3, 8), (2, 3, 2), attrs={'num_heads': 2})


def cast23(m):
    m.seed('cast_23_float4e2m1')
    x = np.concatenate([np.array([0, -0.0, 0.25, 0.26, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 6, 7, 100, -100, np.inf,
                                  -np.inf, np.nan], np.float32), m.f(20) * 4])
    m.add('cast_23_float4e2m1', 'Cast', 23, [X(x)], nodes=chain(('Cast', {'to': F4E2M1}, []),
                                                              ('Cast', {'to': TP.FLOAT}, [])), out_types=[TP.FLOAT],
          ort_fails='no Cast-23 kernel for float4e2m1')
    m.seed('cast_23_int4')
    m.add('cast_23_int4', 'Cast', 23, [X(m.f(16) * 10)], nodes=chain(('Cast', {'to': INT4}, []),
                                                                  ('Cast', {'to': TP.FLOAT}, [])), out_types=[TP.FLOAT],
          ort_differs=ORT_4BIT_CAST, reference=lambda x: [to_4bit_spec(x, True).astype(np.float32)])
    m.seed('quantizelinear_23_int4_blocked')
    m.add('quantizelinear_23_int4_blocked', 'QuantizeLinear', 23,
          [X(m.f(2, 6) * 4), K(m.f(2, 2, lo=0.3, hi=1.0))], attrs={'axis': 1, 'block_size': 3, 'output_dtype': INT4},
          fetch_as=TP.INT8)
    m.seed('dequantizelinear_23_uint4')
    m.add('dequantizelinear_23_uint4', 'DequantizeLinear', 23,
          [K(Packed4(m.i(0, 16, 2, 4), False)), K(np.array(0.5, np.float32))], out_types=[TP.FLOAT])
    m.seed('identity_23')
    m.add('identity_23_int64', 'Identity', 23, [X(m.i(-5, 5, 3))])


def contrib_quant(m):
    """com.microsoft QLinearAdd/QLinearMul (and QLinearSigmoid over every input value), uint8 and int8, same shapes and broadcasts (a scalar, a
    per-channel operand over rows, a row operand), scale ratios from 1/300 to 40 and the
    one-half ratios of clipped ranges, where ties are common: exactly equal."""
    shapes = [((2, 3, 5, 7), (2, 3, 5, 7)), ((2, 3, 5, 7), ()), ((64, 33), (64, 33)), ((1, 4, 6, 6), (1, 4, 1, 1)),
              ((1, 4, 1, 1), (1, 4, 6, 6)), ((48, 40), (48, 40)), ((3, 40), (40,)), ((), (4, 9))]
    for op in ('QLinearAdd', 'QLinearMul'):
        for t, lo, hi in ((np.uint8, 0, 256), (np.int8, -128, 128)):
            for k, (sa, sb) in enumerate(shapes):
                name = f'{op.lower()}_{np.dtype(t).name}_{k}'
                m.seed(name)
                scales = [np.float32(m.r.uniform(0.001, 0.1)) for _ in range(3)]
                zps = [t(m.r.integers(lo, hi)) for _ in range(3)]
                if k % 3 == 1:
                    scales[2] = np.float32(scales[0] * m.r.uniform(0.025, 0.3))  # the output scale far finer
                if k % 3 == 2:  # ranges of Clip(0, 3) and Clip(0, 6) (hard-swish): ratios of one half, ties
                    scales[1:], zps[1:] = [np.float32(3 / 255), np.float32(6 / 255)], [t(0), t(0)]
                ins = [X(m.i(lo, hi, *sa, dtype=t)), K(np.array(scales[0], np.float32)), K(np.array(zps[0], t)),
                       X(m.i(lo, hi, *sb, dtype=t)), K(np.array(scales[1], np.float32)), K(np.array(zps[1], t)),
                       K(np.array(scales[2], np.float32)), K(np.array(zps[2], t))]
                m.add(name, op, 13, ins, domain='com.microsoft', rtol=0, atol=0)
    # QLinearSigmoid: a table over every 8-bit input, input ranges from narrow to saturating.
    for t, lo, hi in ((np.uint8, 0, 256), (np.int8, -128, 128)):
        for k, (xs, xz, ys, yz) in enumerate(((0.05, 128, 1 / 256, 0), (0.1, 20, 1 / 255, 0), (0.02, 200, 0.0039, 3),
                                              (0.3, 100, 1 / 256, 0), (0.0173, 0, 1 / 255, 0))):
            name = f'qlinearsigmoid_{np.dtype(t).name}_{k}'
            m.seed(name)
            shift = 0 if t == np.uint8 else 128
            ins = [X(np.arange(lo, hi, dtype=np.int64).astype(t).reshape(1, -1)), K(np.array(xs, np.float32)),
                   K(np.array(xz - shift, t)), K(np.array(ys, np.float32)), K(np.array(yz - shift, t))]
            m.add(name, 'QLinearSigmoid', 13, ins, domain='com.microsoft', rtol=0, atol=0)
    # QLinearGlobalAveragePool (NCHW), plane sizes where the mean lands on halves.
    for t, lo, hi in ((np.uint8, 0, 256), (np.int8, -128, 128)):
        for k, (hw, xs, xz, ys, yz) in enumerate(((4, 0.05, 128, 0.05, 128), (49, 0.02, 3, 0.021, 0), (2, 0.1, 10, 0.05, 7),
                                                  (196, 0.0173, 100, 0.009, 20))):
            name = f'qlinearglobalaveragepool_{np.dtype(t).name}_{k}'
            m.seed(name)
            shift = 0 if t == np.uint8 else 128
            side = int(round(hw ** 0.5)) if int(round(hw ** 0.5)) ** 2 == hw else 1
            dims = (2, 16, side, hw // side)
            ins = [X(m.i(lo, hi, *dims, dtype=t)), K(np.array(xs, np.float32)), K(np.array(xz - shift, t)),
                   K(np.array(ys, np.float32)), K(np.array(yz - shift, t))]
            m.add(name, 'QLinearGlobalAveragePool', 1, ins, domain='com.microsoft', attrs={'channels_last': 0},
                  rtol=0, atol=0)


def all_cases():
    m = Maker()
    for section in (reductions, pads, center_crop_pad, splits, scatters, bitwise, misc18, misc19, float8,
                    resize_cases, deform_conv, misc20, dft_cases, strings20, image_decoder, int4, opset22,
                    attention, rms_norm, rotary, cast23, contrib_quant):
        section(m)
    return m.cases
