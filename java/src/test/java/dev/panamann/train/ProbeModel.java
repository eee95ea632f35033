package dev.panamann.train;

import dev.panamann.tensor.Param;
import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * A model with known behaviour, for testing the solver's bookkeeping: its loss is
 * {@code 0.5 * ||W||^2} whatever the batch (so dL/dW = W and an SGD step moves W by exactly
 * {@code -lr * W}), and its scores put all mass on class {@code floor(x[i, 0]) mod classes}.
 */
final class ProbeModel implements Model {
    private final Param w;
    private final int classes;
    private Tensor scores;

    ProbeModel(int classes) {
        this.classes = classes;
        float[] v = new float[12];
        for (int i = 0; i < v.length; i++) v[i] = 0.5f + 0.25f * i;
        this.w = new Param("W", Tensor.of(v, 3, 4), true);
    }

    @Override
    public Tensor scores(Tensor x) {
        int n = x.dim(0), d = x.sizeInt() / Math.max(1, n);
        if (scores == null || scores.dim(0) != n) {
            if (scores != null) scores.close();
            scores = Tensor.zeros(n, classes);
        }
        scores.fill(0f);
        for (int i = 0; i < n; i++) scores.set(1f, i, Math.floorMod((int) Math.floor(x.getFlat((long) i * d)), classes));
        return scores;
    }

    @Override
    public float loss(Tensor x, int[] y) {
        double s = 0;
        for (long i = 0; i < w.value().size(); i++) {
            float v = w.value().getFlat(i);
            s += 0.5 * v * v;
            w.grad().setFlat(i, v);
        }
        return (float) s;
    }

    @Override
    public List<Param> params() { return List.of(w); }

    @Override
    public int numClasses() { return classes; }

    @Override
    public void close() {
        w.close();
        if (scores != null) scores.close();
    }
}
