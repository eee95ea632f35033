package dev.panamann.train;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Measures the ratio {@code ||update|| / ||w||} of every parameter (cs231n notes: about 1e-3 is
 * healthy) on the steps whose 0-based index is a multiple of {@code every}: it copies the
 * parameters after the backward pass and compares after the optimizer step. Keeps the
 * history and, with a log, prints {@code update/weight ratio: layers.0.weight 1.02e-03 ...} after each
 * measurement. Owns its parameter copies: {@link #close()} frees them.
 */
public final class UpdateRatioMonitor implements TrainingListener, AutoCloseable {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private int every;
    private final Consumer<String> log;
    private final Map<String, List<Float>> history = new LinkedHashMap<>();
    private final List<Integer> iterations = new ArrayList<>();
    private Tensor[] snapshot;
    private List<Param> snapshotOf;
    private boolean measuring, closed;

    /**
     * @param every measure every this many iterations, &gt;= 1
     * @param log   receives one line per measurement, or null for none
     */
    public UpdateRatioMonitor(int every, Consumer<String> log) {
        every(every);
        this.log = log;
    }

    /** Changes how often ratios are measured (from the next step on); &gt;= 1. */
    public void every(int n) {
        if (n < 1) throw new IllegalArgumentException("update ratios: every must be >= 1, got " + n);
        this.every = n;
    }

    @Override
    public void afterBackward(Solver solver, int iteration, float loss) {
        measuring = iteration % every == 0;
        if (!measuring) return;
        if (closed) throw new IllegalStateException("update-ratio monitor is closed");
        List<Param> params = solver.params();
        if (snapshot == null || snapshotOf != params) {
            freeSnapshot();
            snapshot = new Tensor[params.size()];
            for (int i = 0; i < snapshot.length; i++) snapshot[i] = Tensor.zeros(params.get(i).value().shape());
            snapshotOf = params;
        }
        for (int i = 0; i < snapshot.length; i++) snapshot[i].copyFrom(params.get(i).value());
    }

    @Override
    public void afterStep(Solver solver, Progress progress) {
        if (!measuring) return;
        measuring = false;
        List<Param> params = snapshotOf;
        StringBuilder line = log == null ? null : new StringBuilder("  update/weight ratio:");
        for (int i = 0; i < snapshot.length; i++) {
            Param p = params.get(i);
            float r = ratio(p.value(), snapshot[i]);
            history.computeIfAbsent(p.name(), k -> new ArrayList<>()).add(r);
            if (line != null) line.append(' ').append(p.name()).append(' ').append(String.format(Locale.ROOT, "%.2e", r));
        }
        iterations.add(progress.iteration());
        if (line != null) log.accept(line.toString());
    }

    /** ||w - before|| / ||before||. */
    static float ratio(Tensor w, Tensor before) {
        MemorySegment a = w.segment(), b = before.segment();
        int n = w.sizeInt();
        double du = 0, dw = 0;
        for (int i = 0; i < n; i++) {
            float x = b.getAtIndex(F, i);
            float d = a.getAtIndex(F, i) - x;
            du += (double) d * d;
            dw += (double) x * x;
        }
        return (float) (Math.sqrt(du) / Math.sqrt(dw));
    }

    /** The ratios measured so far, by param name, one per measured iteration. */
    public Map<String, List<Float>> history() {
        Map<String, List<Float>> m = new LinkedHashMap<>();
        history.forEach((k, v) -> m.put(k, Collections.unmodifiableList(v)));
        return Collections.unmodifiableMap(m);
    }

    /** The iterations (1-based counts) at which the ratios were measured. */
    public List<Integer> iterations() { return Collections.unmodifiableList(iterations); }

    /** The latest ratio of each param (empty before the first measurement). */
    public Map<String, Float> latest() {
        Map<String, Float> m = new LinkedHashMap<>();
        history.forEach((k, v) -> m.put(k, v.get(v.size() - 1)));
        return m;
    }

    private void freeSnapshot() {
        if (snapshot != null) for (Tensor t : snapshot) t.close();
        snapshot = null;
        snapshotOf = null;
    }

    /** Frees the parameter copies (the history stays readable). */
    @Override
    public void close() {
        closed = true;
        freeSnapshot();
    }
}
