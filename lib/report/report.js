// Renders an ortool report (the JSON in #report-data) into tables and C3 charts, by the kind on <body>.
// When done it marks #render-status: data-status "ok", or "error" with data-error (a script threw or a
// chart drew no data points); data-charts lists "chart-id:points" for every chart, for the browser test.
(function () {
  'use strict';
  var statusEl = document.getElementById('render-status');
  var root = document.getElementById('report');
  var charts = [];  // {id, chart, points}
  var failed = false;

  function fail(message) {
    if (failed) return;
    failed = true;
    statusEl.setAttribute('data-status', 'error');
    statusEl.setAttribute('data-error', message);
    statusEl.textContent = 'The report could not be drawn: ' + message;
  }
  window.addEventListener('error', function (e) { fail(String(e.message || e)); });

  // ---- small DOM helpers ----
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function section(title, note) {
    var s = el('section');
    s.appendChild(el('h2', null, title));
    if (note) s.appendChild(el('p', { 'class': 'note' }, note));
    root.appendChild(s);
    return s;
  }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  // Numbers as the text tables print them; null (undefined or infinite in the JSON) as given.
  function num(v, digits, missing) {
    if (v === 'inf' || v === Infinity) return 'inf';
    if (!isNum(v)) return missing === undefined ? 'n/a' : missing;
    if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(2);
    return v.toFixed(digits === undefined ? 3 : digits);
  }
  function db(v) { return v === null || v === undefined ? 'inf/n/a' : num(v, 1); }
  function bytes(v) {
    if (!isNum(v)) return 'n/a';
    var units = ['B', 'KiB', 'MiB', 'GiB'], i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; ++i; }
    return v.toFixed(i ? 1 : 0) + ' ' + units[i];
  }
  function summary(parent, pairs) {
    var dl = el('dl', { 'class': 'summary' });
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      dl.appendChild(el('dt', null, p[0]));
      dl.appendChild(el('dd', null, p[1]));
    });
    parent.appendChild(dl);
  }
  // Long tensor names as chart labels: the end, which names the op, is kept.
  function short(name) {
    name = String(name);
    return name.length > 30 ? '\u2026' + name.slice(name.length - 29) : name;
  }
  // columns: [{label, value: function(row) -> text, text: true for left-aligned, title: function(row) -> tooltip}];
  // rowClass(row) optional.
  function table(parent, columns, rows, rowClass) {
    var wrap = el('div', { 'class': 'table-wrap' });
    var t = el('table'), head = el('tr');
    columns.forEach(function (c) { head.appendChild(el('th', c.text ? { 'class': 'text' } : null, c.label)); });
    t.appendChild(head);
    rows.forEach(function (r, i) {
      var tr = el('tr', rowClass && rowClass(r, i) ? { 'class': rowClass(r, i) } : null);
      columns.forEach(function (c) {
        var attrs = c.text ? { 'class': 'text' } : {};
        if (c.title) attrs.title = c.title(r, i);
        tr.appendChild(el('td', attrs, c.value(r, i)));
      });
      t.appendChild(tr);
    });
    wrap.appendChild(t);
    parent.appendChild(wrap);
    return t;
  }
  function verdict(passed) { return passed ? 'PASS' : 'FAIL'; }

  // ---- charts (C3 on D3) ----
  // series: [[name, values...], ...] over `categories`; opts: type ('bar' | 'line'), rotated, yLabel,
  // y2 (series name on a second axis), y2Label, tall, xLabel, logY (plot log10 of the values).
  function chart(parent, id, categories, series, opts) {
    opts = opts || {};
    var div = el('div', { id: id, 'class': 'chart' + (opts.tall ? ' tall' : '') });
    parent.appendChild(div);
    var points = 0;
    series.forEach(function (s) { for (var i = 1; i < s.length; ++i) if (isNum(s[i])) ++points; });
    var axes = {};
    if (opts.y2) axes[opts.y2] = 'y2';
    var c = c3.generate({
      bindto: div,
      data: { columns: series, type: opts.type || 'bar', axes: axes },
      axis: {
        rotated: !!opts.rotated,
        x: { type: 'category', categories: categories.map(short), label: opts.xLabel || '',
             tick: { multiline: false, rotate: opts.rotated ? 0 : (categories.length > 8 ? 60 : 0), culling: false },
             height: opts.rotated ? undefined : (categories.length > 8 ? 110 : 30) },
        y: { label: opts.yLabel || '' },
        y2: { show: !!opts.y2, label: opts.y2Label || '' }
      },
      bar: { width: { ratio: 0.7 } },
      line: { connectNull: false },
      point: { r: 3 },
      transition: { duration: 0 },
      tooltip: { grouped: true },
      legend: { show: series.length > 1 }
    });
    charts.push({ id: id, chart: c, points: points });
    return c;
  }
  // Histogram bars: `labels` name the bins, `counts` their sizes.
  function histogram(parent, id, labels, seriesName, counts, opts) {
    return chart(parent, id, labels, [[seriesName].concat(counts)], opts);
  }

  // ---- compare ----
  function accuracyTable(parent, outputs) {
    table(parent, [
      { label: 'output', text: true, value: function (o) { return o.name; } },
      { label: 'max abs', value: function (o) { return num(o.max_abs_error, 6); } },
      { label: 'max rel', value: function (o) { return num(o.max_rel_error, 6); } },
      { label: 'mean abs', value: function (o) { return num(o.mean_abs_error, 6); } },
      { label: 'cosine', value: function (o) { return num(o.cosine, 6); } },
      { label: 'SQNR dB', value: function (o) { return o.sqnr_exact ? 'inf' : num(o.sqnr_db, 1); } },
      { label: 'top-1 agree', value: function (o) { return isNum(o.top1_agreement) ? (100 * o.top1_agreement).toFixed(1) + '%' : ''; } },
      { label: 'verdict', value: function (o) { return verdict(o.passed) + (o.failures && o.failures.length ? ': ' + o.failures[0] : ''); } }
    ], outputs, function (o) { return o.passed ? '' : 'fail'; });
  }
  function errorHistogram(parent, id, outputs) {
    var withHist = outputs.filter(function (o) { return o.abs_error_histogram; });
    if (!withHist.length) return;
    var labels = withHist[0].abs_error_histogram.bins;
    var series = withHist.map(function (o) { return [o.name].concat(o.abs_error_histogram.counts); });
    chart(parent, id, labels, series, { yLabel: 'elements', xLabel: '|got - expected|' });
  }
  function renderCompare(d) {
    var s = section('Summary');
    summary(s, [['model A', d.model_a], ['model B', d.model_b], ['expected outputs', d.expected_dir],
                ['samples', d.samples + ' (' + d.sample_source + ')'], ['tolerance', 'atol ' + d.atol + ', rtol ' + d.rtol],
                ['latency', d.latency_ms ? 'A ' + num(d.latency_ms.a) + ' ms' + (isNum(d.latency_ms.b) ? ', B ' + num(d.latency_ms.b) + ' ms' : '') : ''],
                ['verdict', d.verdict + (d.failure ? ': ' + d.failure : '')]]);
    var o = section('Outputs', 'Worst sample per output; an element fails when |got - expected| > atol + rtol * |expected|.');
    accuracyTable(o, d.outputs);
    var h = section('Error histogram', 'Elements of every output by absolute error, all samples together (decades).');
    errorHistogram(h, 'chart-error-histogram', d.outputs);
    if (d.layers) renderLayers(d);
  }
  function renderLayers(d) {
    var s = section('Layer by layer',
                    'Every value both models compute, in model A\'s graph order. SQNR is the worst sample\'s ' +
                    '(exact values have no finite SQNR and are left out of that line).');
    var fd = d.first_divergent;
    summary(s, [['first divergent node', fd ? fd.node + ' (' + fd.op_type + '), output ' + fd.output : 'none: every value within the gates'],
                ['lowest SQNR', (d.lowest_sqnr || []).map(function (l) { return l.output + ' ' + db(l.sqnr_db) + ' dB'; }).join(', ')]]);
    var names = d.layers.map(function (l) { return l.name; });
    chart(s, 'chart-layer-sqnr', names,
          [['SQNR dB'].concat(d.layers.map(function (l) { return l.sqnr_exact ? null : l.sqnr_db; })),
           ['max abs error'].concat(d.layers.map(function (l) { return l.max_abs_error; }))],
          { type: 'line', yLabel: 'SQNR dB', y2: 'max abs error', y2Label: 'max abs error', tall: true });
    table(s, [
      { label: '#', value: function (l, i) { return i + 1; } },
      { label: 'tensor', text: true, value: function (l) { return l.name; },
        title: function (l) { return 'model B: ' + l.tensor_b + (l.dequantized ? ' (dequantized)' : ''); } },
      { label: 'B value', text: true, value: function (l) { return l.dequantized ? '8-bit, dequantized' : (l.tensor_b === l.name ? 'same name' : 'folded'); } },
      { label: 'node', text: true, value: function (l) { return l.node; } },
      { label: 'op', text: true, value: function (l) { return l.op_type; } },
      { label: 'max abs', value: function (l) { return num(l.max_abs_error, 6); } },
      { label: 'cosine', value: function (l) { return num(l.cosine, 6); } },
      { label: 'SQNR dB', value: function (l) { return l.sqnr_exact ? 'inf' : num(l.sqnr_db, 1); } },
      { label: 'verdict', value: function (l) { return verdict(l.passed); } }
    ], d.layers, function (l) {
      if (fd && l.name === fd.output) return 'mark';
      return l.passed ? '' : 'fail';
    });
  }

  // ---- quantize ----
  function renderQuantize(d) {
    var s = section('Summary');
    var p = d.proof;
    summary(s, [['model', d.model], ['written to', d.output || '(nothing written)'], ['mode', d.mode + (d.format ? ', ' + d.format : '')],
                ['types', 'activations ' + d.activation_type + ', weights ' + d.weight_type + (d.per_channel_weights ? ' per channel' : ' per tensor')],
                ['size', bytes(d.size_bytes.before) + ' -> ' + bytes(d.size_bytes.after)],
                ['nodes quantized', d.quantized.length + ' (' + d.left_float.length + ' left float)'],
                ['check', p ? p.verdict + ' on ' + p.samples + ' samples (' + p.sample_source + ')' + (p.failure ? ': ' + p.failure : '') : 'not run']]);
    if (d.tensors && d.tensors.length) {
      var t = section('Activation SQNR, worst first', 'Each quantized activation against its float counterpart over the check samples (exact ones have no finite SQNR).');
      var rows = d.tensors.slice(0, 60);
      chart(t, 'chart-tensor-sqnr', rows.map(function (x) { return x.tensor; }),
            [['SQNR dB'].concat(rows.map(function (x) { return x.sqnr_db; }))],
            { rotated: true, yLabel: 'SQNR dB', tall: rows.length > 12 });
      table(t, [{ label: 'tensor', text: true, value: function (x) { return x.tensor; } },
                { label: 'producer', text: true, value: function (x) { return x.producer; } },
                { label: 'op', text: true, value: function (x) { return x.op_type; } },
                { label: 'SQNR dB', value: function (x) { return x.exact ? 'inf' : num(x.sqnr_db, 1); } }], rows);
    }
    if (p) {
      var o = section('Float vs int8 outputs', 'The quantized model\'s outputs against the float model\'s on the check samples.');
      chart(o, 'chart-output-agreement', p.outputs.map(function (x) { return x.name; }),
            [['SQNR dB'].concat(p.outputs.map(function (x) { return x.sqnr_db; })),
             ['cosine'].concat(p.outputs.map(function (x) { return x.cosine; }))],
            { y2: 'cosine', y2Label: 'cosine', yLabel: 'SQNR dB' });
      accuracyTable(o, p.outputs);
    }
    if (d.speed) {
      var l = section('Latency, float vs int8', 'Median of alternating runs of both models on ortool\'s runtime (the same threads and providers): ' +
                      (d.speed.speedup >= 1 ? num(d.speed.speedup, 2) + 'x faster in int8.' : num(1 / d.speed.speedup, 2) + 'x slower in int8.'));
      chart(l, 'chart-latency', ['float', 'int8'], [['ms per run', d.speed.float_ms, d.speed.int8_ms]], { yLabel: 'ms' });
    }
    var c = d.calibration;
    if (c && c.ranges && c.ranges.length) {
      var r = section('Calibration ranges', (c.method ? 'Method ' + c.method : 'From table ' + c.table) + ', ' + c.samples + ' samples' +
                      (c.passes > 1 ? ', ' + c.passes + ' passes' : '') + '. The chosen range against the observed extremes.');
      var rr = c.ranges.slice(0, 80);
      chart(r, 'chart-calibration-ranges', rr.map(function (x) { return x.tensor; }),
            [['range min'].concat(rr.map(function (x) { return x.min; })), ['range max'].concat(rr.map(function (x) { return x.max; })),
             ['observed min'].concat(rr.map(function (x) { return x.observed_min; })), ['observed max'].concat(rr.map(function (x) { return x.observed_max; }))],
            { type: 'line', tall: true });
      table(r, [{ label: 'tensor', text: true, value: function (x) { return x.tensor; } },
                { label: 'min', value: function (x) { return num(x.min, 4); } }, { label: 'max', value: function (x) { return num(x.max, 4); } },
                { label: 'observed min', value: function (x) { return num(x.observed_min, 4, ''); } },
                { label: 'observed max', value: function (x) { return num(x.observed_max, 4, ''); } }], rr);
    }
    var f = section('Kept in float', d.left_float.length ? 'Nodes the quantizer left in float, and why.' : 'Every node the quantizer supports was quantized.');
    if (d.left_float.length)
      table(f, [{ label: 'node', text: true, value: function (x) { return x.node; } }, { label: 'op', text: true, value: function (x) { return x.op_type; } },
                { label: 'why', text: true, value: function (x) { return x.detail; } }], d.left_float);
    if (d.notes && d.notes.length) {
      var n = section('Notes');
      var ul = el('ul');
      d.notes.forEach(function (x) { ul.appendChild(el('li', null, x)); });
      n.appendChild(ul);
    }
  }

  // ---- prune ----
  function renderPrune(d) {
    var s = section('Summary');
    summary(s, [['model', d.model], ['written to', d.before ? d.output || '(nothing written)' : '(sensitivity sweep only)'],
                ['ratio', d.ratio], ['samples', d.sample_source], ['criterion', d.criterion + (d.scope ? ', scope ' + d.scope : '')],
                ['check', d.check ? d.check.verdict + ' on ' + d.check.samples + ' samples' + (d.check.failure ? ': ' + d.check.failure : '') : 'not run']]);
    if (d.before && d.after) {
      var m = section('MACs and parameters', 'After pruning, as a percentage of before.');
      var pct = function (k) { return d.before[k] > 0 ? 100 * d.after[k] / d.before[k] : null; };
      chart(m, 'chart-macs-params', ['parameters', 'MACs', 'parameter bytes'],
            [['before %', 100, 100, 100], ['after %', pct('parameters'), pct('macs'), pct('parameter_bytes')]], { yLabel: '% of before' });
      table(m, [{ label: '', text: true, value: function (r) { return r[0]; } }, { label: 'before', value: function (r) { return r[1]; } },
                { label: 'after', value: function (r) { return r[2]; } }],
            [['parameters', d.before.parameters, d.after.parameters], ['MACs', d.before.macs, d.after.macs],
             ['parameter bytes', bytes(d.before.parameter_bytes), bytes(d.after.parameter_bytes)],
             ['latency ms', num(d.before.latency_ms), num(d.after.latency_ms)]]);
      var l = section('Channels kept per layer');
      chart(l, 'chart-channels', d.layers.map(function (x) { return x.name; }),
            [['channels before'].concat(d.layers.map(function (x) { return x.channels; })),
             ['kept'].concat(d.layers.map(function (x) { return x.kept; }))], { tall: d.layers.length > 12 });
      table(l, [{ label: 'layer', text: true, value: function (x) { return x.name; } }, { label: 'op', text: true, value: function (x) { return x.op_type; } },
                { label: 'group', value: function (x) { return x.group; } }, { label: 'channels', value: function (x) { return x.channels; } },
                { label: 'kept', value: function (x) { return x.kept; } }], d.layers);
    }
    if (d.sensitivity && d.sensitivity.groups.length) {
      var g = section('Sensitivity per group', 'Output SQNR against the original with only that group pruned at each ratio.');
      var ratios = d.sensitivity.ratios.map(function (r) { return String(r); });
      var series = d.sensitivity.groups.map(function (grp) {
        var byRatio = {};
        grp.points.forEach(function (pt) { byRatio[String(pt.ratio)] = isNum(pt.sqnr_db) ? pt.sqnr_db : null; });
        return ['group ' + grp.id + ' (' + grp.layers[0] + ')'].concat(ratios.map(function (r) { return byRatio[r] === undefined ? null : byRatio[r]; }));
      });
      chart(g, 'chart-sensitivity', ratios, series, { type: 'line', xLabel: 'ratio pruned', yLabel: 'output SQNR dB', tall: true });
    }
    if (d.left_whole && d.left_whole.length) {
      var w = section('Left whole');
      table(w, [{ label: 'group', value: function (x) { return x.group; } }, { label: 'layers', text: true, value: function (x) { return x.layers.join(', '); } },
                { label: 'why', text: true, value: function (x) { return x.reason; } }], d.left_whole);
    }
  }

  // ---- bench ----
  function renderBench(d) {
    var s = section('Summary');
    var L = d.latency_ms;
    summary(s, [['model', d.model], ['runs', d.iterations + ' after ' + d.warmup + ' warm-up, ' + d.threads_used + ' thread(s), providers ' + d.providers.join(',')],
                ['latency ms', 'min ' + num(L.min) + ', median ' + num(L.median) + ', p90 ' + num(L.p90) + ', p99 ' + num(L.p99)],
                ['throughput', num(d.throughput_per_s, 1) + ' runs/s'],
                ['peak memory', bytes(d.peak_memory_bytes) + ' live tensors, ' + bytes(d.arena_bytes) + ' arena'],
                ['warnings', (d.warnings || []).join('; ')]]);
    if (d.latency_histogram) {
      var h = section('Latency distribution', 'Runs per latency bin.');
      var hb = d.latency_histogram;
      histogram(h, 'chart-latency-histogram', hb.bins.map(function (b) { return num(b, 3); }), 'runs', hb.counts, { xLabel: 'ms (bin start)' });
    }
    var p = d.profile;
    if (p) {
      var o = section('Time per op type', 'Mean ms per run; a fused group counts under its first node.');
      chart(o, 'chart-op-time', p.ops.map(function (x) { return x.op_type; }), [['ms per run'].concat(p.ops.map(function (x) { return x.ms; }))],
            { rotated: true, tall: p.ops.length > 10 });
      table(o, [{ label: 'op type', text: true, value: function (x) { return x.op_type; } }, { label: 'nodes', value: function (x) { return x.nodes; } },
                { label: 'ms/run', value: function (x) { return num(x.ms); } },
                { label: 'share', value: function (x) { return p.node_total_ms > 0 ? (100 * x.ms / p.node_total_ms).toFixed(1) + '%' : ''; } }], p.ops);
      if (p.providers) {
        var v = section('Time per provider');
        chart(v, 'chart-provider-time', p.providers.map(function (x) { return x.provider; }),
              [['ms per run'].concat(p.providers.map(function (x) { return x.ms; }))], {});
      }
      var n = section('Slowest nodes');
      chart(n, 'chart-slowest-nodes', p.slowest_nodes.map(function (x) { return x.node; }),
            [['ms per run'].concat(p.slowest_nodes.map(function (x) { return x.ms; }))], { rotated: true, tall: p.slowest_nodes.length > 10 });
      table(n, [{ label: 'node', text: true, value: function (x) { return x.node; } }, { label: 'op', text: true, value: function (x) { return x.op_type; } },
                { label: 'provider', text: true, value: function (x) { return x.provider; } }, { label: 'ms/run', value: function (x) { return num(x.ms); } }],
            p.slowest_nodes);
    }
  }

  // Every chart must have drawn data: C3 makes one path.c3-bar per bar and one circle.c3-circle per point.
  function finish() {
    var parts = [];
    charts.forEach(function (c) {
      var drawn = document.querySelectorAll('#' + c.id + ' path.c3-bar, #' + c.id + ' circle.c3-circle').length;
      var shown = Math.min(drawn, c.points);
      parts.push(c.id + ':' + shown);
      if (c.points === 0 || drawn === 0) fail('chart ' + c.id + ' has no data points');
    });
    statusEl.setAttribute('data-charts', parts.join(','));
    if (!failed) {
      statusEl.setAttribute('data-status', 'ok');
      statusEl.textContent = 'rendered';
    }
  }

  try {
    var data = JSON.parse(document.getElementById('report-data').textContent);
    var kind = document.body.getAttribute('data-kind');
    var render = { compare: renderCompare, quantize: renderQuantize, prune: renderPrune, bench: renderBench }[kind];
    if (!render) throw new Error('unknown report kind ' + kind);
    render(data);
    finish();
  } catch (e) {
    fail(String(e && e.message ? e.message : e));
  }
})();
