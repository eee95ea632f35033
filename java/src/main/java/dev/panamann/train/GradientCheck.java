package dev.panamann.train;

import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.tensor.Param;
import dev.panamann.loss.Loss;
import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * Numerical gradient checks (cs231n {@code gradient_check.py}) made dependable for float32
 * code.
 *
 * <p><b>Numerical gradient.</b> {@link #numericalGradient} is the centered difference
 * {@code (f(x + h) - f(x - h)) / 2h} of a scalar function, one element of a tensor at a time,
 * with the tensor perturbed in place and restored. Three things keep float32 noise down: the
 * step is relative, {@code h * max(1, |x_i|)}; the difference is divided by the step actually
 * taken after rounding {@code x_i +- h} to float; and the functions evaluated by the checks
 * are summed in double ({@code sum(out * dout)} for a layer, {@link Loss#forwardDouble},
 * {@link Model#lossDouble}).
 *
 * <p><b>Comparison.</b> {@link #relError} is cs231n's {@code max |a - b| / max(1e-8, |a| + |b|)}
 * elementwise. In float32 an element that is tiny next to the others holds mostly rounding
 * noise (the noise of a centered difference is about the same for every element of one
 * function), so a check passes or fails on {@link Result#error()}: the same ratio with the
 * denominator floored at {@link #FLOOR} times the largest {@code |a| + |b|} of the same
 * gradient (each param, and x, on its own scale, so a small bias next to a large weight is
 * held to its own scale), but not below {@link #NOISE_FLOOR} times the largest of the whole
 * check (the rounding noise every element shares). {@link #TOLERANCE} is well above the noise of the
 * library's layers and models and well below the ~5e-3 of a gradient off by 1%; the tests
 * prove both.
 *
 * <p><b>Kinks.</b> Where a piecewise-linear function (ReLU at 0, a hinge at margin 0) bends
 * within a step of x, the centered difference mixes the slopes of both sides and is wrong
 * without any bug; in a net of a hundred ReLUs that happens for a good fraction of random
 * inputs even with small steps. The checks therefore also take second-order one-sided
 * differences, from {@code f(x), f(x + h), f(x + 2h)} and from {@code f(x), f(x - h),
 * f(x - 2h)}: a single kink spoils at most one side, so an element passes when the analytic
 * value matches the centered difference or one of the one-sided ones. Away from kinks all
 * three agree, so a wrong gradient still fails. {@link Result#centeredError()} reports the
 * error of the centered difference alone.
 */
public final class GradientCheck {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Default relative step: perturbs x_i by {@code 1e-3 * max(1, |x_i|)} (and twice that). */
    public static final double STEP = 1e-3;
    /** Default bound on {@link Result#error()}: a gradient scaled by 1.01 gives ~5e-3. */
    public static final double TOLERANCE = 1e-3;
    /** The denominator floor of {@link Result#error()}, as a fraction of the largest |a| + |b| of one gradient. */
    public static final double FLOOR = 0.1;
    /**
     * The lowest denominator floor of a check of several gradients (layer or model), as a
     * fraction of the largest |a| + |b| of all of them: the rounding noise of the differenced
     * function is about the same for every element of every gradient, so a gradient hundreds
     * of times smaller than the largest is not held to its own tiny scale.
     */
    public static final double NOISE_FLOOR = 0.04;

    private GradientCheck() {}

    /**
     * The result of comparing an analytic gradient with numerical estimates.
     *
     * @param name          what was checked (param name, or "x", "scores")
     * @param error         max over elements of the floored relative error of the best-matching
     *                      estimate (centered or one-sided); decides pass / fail
     * @param centeredError the same using the centered difference only (larger than
     *                      {@code error} where a kink spoiled the centered difference)
     * @param relError      cs231n relative error of the centered difference,
     *                      max over elements of |a - b| / max(1e-8, |a| + |b|)
     * @param maxAbsDiff    max over elements of |a - b| for the centered difference
     * @param worstIndex    flat index of the element with the largest {@code error}
     * @param analytic      analytic value at worstIndex
     * @param numeric       centered difference at worstIndex
     */
    public record Result(String name, double error, double centeredError, double relError, double maxAbsDiff,
                         int worstIndex, double analytic, double numeric) {
        /** True when {@link #error()} is at most {@code tolerance}. */
        public boolean ok(double tolerance) { return error <= tolerance; }

        /** True when {@link #error()} is at most {@link #TOLERANCE}. */
        public boolean ok() { return ok(TOLERANCE); }

        @Override
        public String toString() {
            return String.format("%s: error %.3g (centered %.3g, cs231n relError %.3g, max |diff| %.3g; "
                            + "worst at %d: analytic %.6g, numeric %.6g)",
                    name, error, centeredError, relError, maxAbsDiff, worstIndex, analytic, numeric);
        }
    }

    /**
     * Numerical estimates of one gradient: the centered difference and, when taken, the
     * second-order one-sided differences to the right and to the left (null otherwise).
     *
     * @param centered centered differences, one per element
     * @param right    from f(x), f(x + h), f(x + 2h), or null
     * @param left     from f(x), f(x - h), f(x - 2h), or null
     */
    public record Estimates(double[] centered, double[] right, double[] left) {}

    // ------------------------------------------------------------------ numerical gradient

    /**
     * Centered-difference gradient of {@code f} with respect to every element of {@code x}.
     * {@code x} is changed in place one element at a time while {@code f} runs, and restored.
     *
     * @param f a scalar function that reads x (and nothing that changes between calls)
     * @param x the tensor to differentiate with respect to, any shape
     * @param h relative step: element i moves by {@code h * max(1, |x_i|)} each way
     * @return the gradient, one value per element of x (row-major)
     */
    public static double[] numericalGradient(DoubleSupplier f, Tensor x, double h) {
        return estimate(f, x, h, false).centered();
    }

    /**
     * Centered and (when {@code oneSided}) second-order one-sided differences of {@code f}
     * with respect to every element of {@code x}, perturbed in place and restored.
     *
     * @param f        a scalar function that reads x
     * @param x        the tensor to differentiate with respect to, any shape
     * @param h        relative step: element i moves by {@code h * max(1, |x_i|)} (and twice that)
     * @param oneSided also take the one-sided differences (two more evaluations per element)
     */
    public static Estimates estimate(DoubleSupplier f, Tensor x, double h, boolean oneSided) {
        return estimate(f, x, h, oneSided, null);
    }

    /**
     * As {@link #estimate(DoubleSupplier, Tensor, double, boolean)} for the elements at
     * {@code indices} only (cs231n's {@code grad_check_sparse}); {@code null} means all. The
     * estimates come in the order of {@code indices}.
     */
    public static Estimates estimate(DoubleSupplier f, Tensor x, double h, boolean oneSided, int[] indices) {
        if (!(h > 0)) throw new IllegalArgumentException("step h must be > 0, got " + h);
        x.checkOpen();
        int n = indices == null ? x.sizeInt() : indices.length;
        double[] centered = new double[n];
        double[] right = oneSided ? new double[n] : null, left = oneSided ? new double[n] : null;
        double f0 = oneSided ? f.getAsDouble() : 0;
        for (int k = 0; k < n; k++) {
            int i = indices == null ? k : indices[k];
            float old = x.getFlat(i);
            double step = h * Math.max(1.0, Math.abs(old));
            try {
                // the steps actually taken, after rounding x +- step to float
                double dp = (float) (old + step) - (double) old, dm = (float) (old - step) - (double) old;
                double fp = at(f, x, i, (float) (old + step)), fm = at(f, x, i, (float) (old - step));
                centered[k] = (fp - fm) / (dp - dm);
                if (oneSided) {
                    double dp2 = (float) (old + 2 * step) - (double) old, dm2 = (float) (old - 2 * step) - (double) old;
                    right[k] = oneSidedSlope(f0, dp, fp, dp2, at(f, x, i, (float) (old + 2 * step)));
                    left[k] = oneSidedSlope(f0, dm, fm, dm2, at(f, x, i, (float) (old - 2 * step)));
                }
            } finally {
                x.setFlat(i, old);
            }
        }
        return new Estimates(centered, right, left);
    }

    private static double at(DoubleSupplier f, Tensor x, int i, float v) {
        x.setFlat(i, v);
        return f.getAsDouble();
    }

    /** Slope at 0 of the parabola through (0, f0), (d1, f1), (d2, f2). */
    private static double oneSidedSlope(double f0, double d1, double f1, double d2, double f2) {
        return -f0 * (d1 + d2) / (d1 * d2) + f1 * d2 / (d1 * (d2 - d1)) - f2 * d1 / (d2 * (d2 - d1));
    }

    // ------------------------------------------------------------------ comparisons

    /**
     * cs231n's relative error: max over elements of {@code |a - b| / max(1e-8, |a| + |b|)}.
     *
     * @param a values, any length
     * @param b values, same length
     */
    public static double relError(double[] a, double[] b) {
        checkLengths(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-8, Math.abs(a[i]) + Math.abs(b[i])));
        }
        return worst;
    }

    /**
     * cs231n's relative error between two tensors of the same number of elements.
     *
     * @param a any shape
     * @param b same number of elements
     */
    public static double relError(Tensor a, Tensor b) {
        return relError(toDoubles(a), toDoubles(b));
    }

    /**
     * The floored relative error of one pair of gradients on their own: max over elements of
     * {@code |a - b| / max(1e-8, |a| + |b|, FLOOR * max_j(|a_j| + |b_j|))}. Elements of
     * ordinary size are held to a relative bound; elements far smaller than the largest are
     * held to an absolute bound scaled to the largest (their own relative error would be
     * float32 noise).
     *
     * @param a values, any length
     * @param b values, same length
     */
    public static double error(double[] a, double[] b) {
        return compare("", a, b).error();
    }

    /**
     * Compares an analytic gradient with a numerical one (centered differences only), flooring
     * denominators at {@link #FLOOR} times their own largest {@code |a| + |b|}.
     *
     * @param name     label for the result
     * @param analytic analytic gradient, any length
     * @param numeric  numerical gradient, same length
     */
    public static Result compare(String name, double[] analytic, double[] numeric) {
        return compare(name, analytic, new Estimates(numeric, null, null), largest(analytic, numeric));
    }

    /**
     * Compares an analytic gradient tensor with a numerical one (centered differences only).
     *
     * @param name     label for the result
     * @param analytic analytic gradient, any shape
     * @param numeric  numerical gradient, one value per element
     */
    public static Result compare(String name, Tensor analytic, double[] numeric) {
        return compare(name, toDoubles(analytic), numeric);
    }

    /**
     * Compares an analytic gradient with numerical estimates, flooring denominators at
     * {@code FLOOR * scale}; each element is judged by the estimate that matches it best.
     *
     * @param name     label for the result
     * @param analytic analytic gradient, any length
     * @param numeric  estimates, same length
     * @param scale    the largest {@code |a| + |b|} of the whole check this pair belongs to
     */
    public static Result compare(String name, double[] analytic, Estimates numeric, double scale) {
        double[] c = numeric.centered();
        checkLengths(analytic.length, c.length);
        double floor = Math.max(1e-8, FLOOR * scale);
        double rel = 0, err = 0, centeredErr = 0, maxAbs = 0;
        int worst = 0;
        for (int i = 0; i < analytic.length; i++) {
            double a = analytic[i];
            double diff = Math.abs(a - c[i]);
            rel = Math.max(rel, diff / Math.max(1e-8, Math.abs(a) + Math.abs(c[i])));
            maxAbs = Math.max(maxAbs, diff);
            double ec = floored(a, c[i], floor), e = ec;
            if (numeric.right() != null) e = Math.min(e, Math.min(floored(a, numeric.right()[i], floor), floored(a, numeric.left()[i], floor)));
            centeredErr = Math.max(centeredErr, ec);
            if (e > err) {
                err = e;
                worst = i;
            }
        }
        return new Result(name, err, centeredErr, rel, maxAbs, worst, analytic.length == 0 ? 0 : analytic[worst],
                analytic.length == 0 ? 0 : c[worst]);
    }

    private static double floored(double a, double b, double floor) {
        return Math.abs(a - b) / Math.max(floor, Math.abs(a) + Math.abs(b));
    }

    private static double largest(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i]) + Math.abs(b[i]));
        return m;
    }

    /**
     * Compares every pair with its own floor, from its own largest |a| + |b|: a parameter
     * whose gradients are small next to another's (a bias next to a large weight) is held to
     * its own scale, not to the largest one of the check.
     */
    private static Map<String, Result> compareAll(Map<String, double[]> analytic, Map<String, Estimates> numeric) {
        double all = 0;
        for (String k : analytic.keySet()) all = Math.max(all, largest(analytic.get(k), numeric.get(k).centered()));
        Map<String, Result> results = new LinkedHashMap<>();
        for (String k : analytic.keySet()) {
            double own = largest(analytic.get(k), numeric.get(k).centered());
            // FLOOR * own / FLOOR = own; the noise floor NOISE_FLOOR * all, divided the same way
            results.put(k, compare(k, analytic.get(k), numeric.get(k), Math.max(own, NOISE_FLOOR / FLOOR * all)));
        }
        return results;
    }

    // ------------------------------------------------------------------ checks

    /**
     * Checks a layer's backward against numerical gradients of {@code sum(forward(x) * dout)}
     * with respect to x and to each of the layer's params.
     *
     * @param layer the layer; it must be deterministic in {@code mode} (see the other overload)
     * @param x     input, the shape the layer expects; perturbed and restored
     * @param dout  upstream gradient, the shape of the layer's output
     * @param mode  mode of every forward pass
     * @param h     relative step, e.g. {@link #STEP}
     * @return results keyed "x" and then by param name (repeated names get #2, #3, ...)
     */
    public static Map<String, Result> checkLayer(Layer layer, Tensor x, Tensor dout, Mode mode, double h) {
        return checkLayer(layer, x, dout, mode, h, () -> {});
    }

    /**
     * As {@link #checkLayer(Layer, Tensor, Tensor, Mode, double)}, running {@code beforeForward}
     * before each forward pass, for instance to restore a dropout generator's state so that
     * every pass draws the same mask.
     *
     * @param layer         the layer
     * @param x             input, the shape the layer expects; perturbed and restored
     * @param dout          upstream gradient, the shape of the layer's output
     * @param mode          mode of every forward pass
     * @param h             relative step, e.g. {@link #STEP}
     * @param beforeForward run before every forward pass
     * @return results keyed "x" (left out when the layer's backward returns no input gradient,
     *         e.g. an {@code Affine} with its input gradient switched off) and then by param name
     *         (repeated names get #2, #3, ...)
     */
    public static Map<String, Result> checkLayer(Layer layer, Tensor x, Tensor dout, Mode mode, double h,
                                                 Runnable beforeForward) {
        beforeForward.run();
        Tensor out = layer.forward(x, mode);
        dout.requireShape("checkLayer: dout (the layer's output shape)", out.shape());
        Tensor dxOrNull = layer.backward(dout);
        List<Param> params = layer.params();
        List<String> names = uniqueNames("x", params);
        DoubleSupplier f = () -> {
            beforeForward.run();
            return dot(layer.forward(x, mode), dout);
        };
        Map<String, double[]> analytic = new LinkedHashMap<>();
        Map<String, Estimates> numeric = new LinkedHashMap<>();
        if (dxOrNull != null) analytic.put("x", toDoubles(dxOrNull));
        for (int i = 0; i < params.size(); i++) analytic.put(names.get(i + 1), toDoubles(params.get(i).grad()));
        if (dxOrNull != null) numeric.put("x", estimate(f, x, h, true));
        for (int i = 0; i < params.size(); i++) numeric.put(names.get(i + 1), estimate(f, params.get(i).value(), h, true));
        return compareAll(analytic, numeric);
    }

    /**
     * Checks {@link Loss#dscores()} against the numerical gradient of the loss.
     *
     * @param loss   the loss
     * @param scores class scores, (N, C); perturbed and restored
     * @param y      labels, N values in [0, C)
     * @param h      relative step, e.g. {@link #STEP}
     */
    public static Result checkLoss(Loss loss, Tensor scores, int[] y, double h) {
        loss.forwardDouble(scores, y);
        double[] analytic = toDoubles(loss.dscores());
        Estimates numeric = estimate(() -> loss.forwardDouble(scores, y), scores, h, true);
        return compare("scores", analytic, numeric, largest(analytic, numeric.centered()));
    }

    /**
     * Checks every parameter gradient of a model against the numerical gradient of
     * {@link Model#lossDouble}. The model must be deterministic in training mode (no dropout).
     *
     * @param model the model
     * @param x     input batch, (N, ...)
     * @param y     labels, N values
     * @param h     relative step, e.g. {@link #STEP}
     * @return results by param name, in {@link Model#params()} order
     */
    public static Map<String, Result> checkModel(Model model, Tensor x, int[] y, double h) {
        model.lossDouble(x, y);
        List<Param> params = model.params();
        List<String> names = uniqueNames(null, params);
        Map<String, double[]> analytic = new LinkedHashMap<>();
        Map<String, Estimates> numeric = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) analytic.put(names.get(i), toDoubles(params.get(i).grad()));
        for (int i = 0; i < params.size(); i++) {
            numeric.put(names.get(i), estimate(() -> model.lossDouble(x, y), params.get(i).value(), h, true));
        }
        return compareAll(analytic, numeric);
    }

    /**
     * As {@link #checkModel(Model, Tensor, int[], double)}, but for a param with more than
     * {@code maxPerParam} elements only that many, drawn at random (cs231n's
     * {@code grad_check_sparse}): for models too large to perturb every weight.
     *
     * @param model       the model, deterministic in training mode
     * @param x           input batch, (N, ...)
     * @param y           labels, N values
     * @param h           relative step, e.g. {@link #STEP}
     * @param maxPerParam elements checked per param at most, &gt;= 1
     * @param seed        seed of the choice of elements
     * @return results by param name, in {@link Model#params()} order
     */
    public static Map<String, Result> checkModel(Model model, Tensor x, int[] y, double h, int maxPerParam, long seed) {
        if (maxPerParam < 1) throw new IllegalArgumentException("maxPerParam must be >= 1, got " + maxPerParam);
        dev.panamann.tensor.Rng rng = new dev.panamann.tensor.Rng(seed);
        model.lossDouble(x, y);
        List<Param> params = model.params();
        List<String> names = uniqueNames(null, params);
        Map<String, double[]> analytic = new LinkedHashMap<>();
        Map<String, int[]> chosen = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            double[] all = toDoubles(params.get(i).grad());
            int[] idx = all.length <= maxPerParam ? null : java.util.Arrays.copyOf(rng.permutation(all.length), maxPerParam);
            double[] a = all;
            if (idx != null) {
                a = new double[idx.length];
                for (int k = 0; k < idx.length; k++) a[k] = all[idx[k]];
            }
            analytic.put(names.get(i), a);
            chosen.put(names.get(i), idx);
        }
        Map<String, Estimates> numeric = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            numeric.put(names.get(i), estimate(() -> model.lossDouble(x, y), params.get(i).value(), h, true,
                    chosen.get(names.get(i))));
        }
        return compareAll(analytic, numeric);
    }

    // ------------------------------------------------------------------ helpers

    /** {@code sum(a * b)} in double. */
    public static double dot(Tensor a, Tensor b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException("dot: shapes " + a.shapeString() + " and " + b.shapeString() + " differ in size");
        }
        MemorySegment as = a.segment(), bs = b.segment();
        double s = 0;
        for (long i = 0; i < a.size(); i++) s += (double) as.getAtIndex(F, i) * bs.getAtIndex(F, i);
        return s;
    }

    /** The values of a tensor as doubles. */
    public static double[] toDoubles(Tensor t) {
        MemorySegment s = t.segment();
        double[] d = new double[t.sizeInt()];
        for (int i = 0; i < d.length; i++) d[i] = s.getAtIndex(F, i);
        return d;
    }

    /**
     * The params' names (after {@code first} when not null), made unique by appending #2, #3,
     * ... to repeats (a Sequential of two Affine layers has two params named W).
     */
    private static List<String> uniqueNames(String first, List<Param> params) {
        List<String> names = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        if (first != null) {
            names.add(first);
            seen.add(first);
        }
        for (Param p : params) {
            String n = p.name();
            for (int k = 2; !seen.add(n); k++) n = p.name() + "#" + k;
            names.add(n);
        }
        return names;
    }

    private static void checkLengths(int a, int b) {
        if (a != b) throw new IllegalArgumentException("gradients differ in size: " + a + " vs " + b);
    }
}
