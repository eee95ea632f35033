package dev.panamann.cli;

import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.GradientCheck;
import dev.panamann.train.GradientCheckReport;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code panama-nn gradcheck}: compares every parameter gradient of a model (built with small
 * shapes) with numerical gradients of its loss on a tiny random batch.
 */
@Command(name = "gradcheck", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Numerical gradient check of every parameter of a model with small shapes on a tiny random batch.",
                "Models: twolayer, fc (with batch norm), convnet, mnist-cnn (its layer stack at small sizes, no dropout), "
                        + "sigmoid-mlp, prelu-mlp.",
                "Prints the relative error per parameter and PASS/FAIL; exit code 1 when any parameter fails.",
                "The error that decides is GradientCheck's: |a - n| / max(|a| + |n|, 0.1 * largest |a| + |n| of the check), "
                        + "with one-sided differences where a ReLU or max-pool kink spoils the centered one."})
public final class GradcheckCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    LossOption lossOption;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--samples", paramLabel = "K",
            description = "Check K random elements of each parameter instead of all (default: all).")
    Integer samples;

    @Option(names = "--batch", paramLabel = "N", description = "Examples in the random batch (default: 6; 3 for convnet and mnist-cnn).")
    Integer batch;

    @Option(names = "--step", paramLabel = "H", defaultValue = "1e-3", description = "Relative step of the differences (default: ${DEFAULT-VALUE}).")
    double step;

    @Option(names = "--tolerance", paramLabel = "T", defaultValue = "1e-3", description = "Largest error that passes (default: ${DEFAULT-VALUE}).")
    double tolerance;

    @Override
    public Integer call() {
        String type = modelOption.type("twolayer", ModelSpec.TYPES);
        ModelRegistry.Gradcheck small = ModelRegistry.get(type).gradcheck();
        if (!(step > 0) || !(tolerance > 0)) throw new UserError("--step and --tolerance must be > 0");
        lossOption.check();
        int n = batch != null ? batch : small.batch();
        if (n < 1) throw new UserError("--batch must be >= 1, got " + n);
        int k = samples != null ? samples : 0;
        if (k < 0) throw new UserError("--samples must be >= 0, got " + k);

        try (Ops ops = common.ops("auto"); Model net = small.build().apply(ops, common.seed).setLoss(lossOption.newLoss())) {
            int[] in = small.input();
            Rng rng = new Rng(common.seed + 1);
            int[] xShape = new int[in.length + 1];
            xShape[0] = n;
            System.arraycopy(in, 0, xShape, 1, in.length);
            int[] y = new int[n];
            for (int i = 0; i < n; i++) y[i] = rng.nextInt(net.numClasses());
            System.out.printf(Locale.ROOT, "gradient check of %s on %s backend: batch %s, step %.0e, tolerance %.0e, %s%n",
                    small.description().get() + (lossOption.loss.equals(ModelSpec.DEFAULT_LOSS) ? "" : ", " + lossOption.loss + " loss"), ops.name(), Arrays.toString(xShape), step, tolerance,
                    k == 0 ? "every element" : k + " random elements per parameter");
            Map<String, GradientCheck.Result> results;
            try (Tensor x = Tensor.randn(rng, 1f, xShape)) {
                results = k == 0 ? GradientCheck.checkModel(net, x, y, step) : sampledCheck(net, x, y, step, k, rng);
            }
            return report(net, results, k);
        }
    }

    /**
     * As {@link GradientCheck#checkModel}, on {@code k} random elements of each parameter: each
     * element is perturbed through a one-element view, with the same estimates.
     */
    static Map<String, GradientCheck.Result> sampledCheck(Model net, Tensor x, int[] y, double h, int k, Rng rng) {
        net.lossDouble(x, y);
        List<Param> params = net.params();
        Map<String, double[]> analytic = new LinkedHashMap<>();
        Map<String, int[]> picked = new LinkedHashMap<>();
        for (Param p : params) {
            int size = p.value().sizeInt();
            int[] idx = Arrays.copyOf(rng.permutation(size), Math.min(k, size));
            double[] a = new double[idx.length];
            for (int i = 0; i < idx.length; i++) a[i] = p.grad().getFlat(idx[i]);
            analytic.put(p.name(), a);
            picked.put(p.name(), idx);
        }
        Map<String, GradientCheck.Estimates> numeric = new LinkedHashMap<>();
        double scale = 0;
        for (Param p : params) {
            int[] idx = picked.get(p.name());
            double[] c = new double[idx.length], r = new double[idx.length], l = new double[idx.length];
            MemorySegment seg = p.value().segment();
            for (int i = 0; i < idx.length; i++) {
                Tensor one = Tensor.wrap(seg.asSlice((long) idx[i] * Float.BYTES, Float.BYTES), 1);
                GradientCheck.Estimates e = GradientCheck.estimate(() -> net.lossDouble(x, y), one, h, true);
                c[i] = e.centered()[0];
                r[i] = e.right()[0];
                l[i] = e.left()[0];
            }
            numeric.put(p.name(), new GradientCheck.Estimates(c, r, l));
            double[] a = analytic.get(p.name());
            for (int i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]) + Math.abs(c[i]));
        }
        Map<String, GradientCheck.Result> out = new LinkedHashMap<>();
        for (Param p : params) {
            GradientCheck.Result r = GradientCheck.compare(p.name(), analytic.get(p.name()), numeric.get(p.name()), scale);
            int[] idx = picked.get(p.name());
            int flat = idx.length == 0 ? 0 : idx[r.worstIndex()];  // report the element's index in the parameter
            out.put(p.name(), new GradientCheck.Result(r.name(), r.error(), r.centeredError(), r.relError(), r.maxAbsDiff(), flat,
                    r.analytic(), r.numeric()));
        }
        return out;
    }

    private int report(Model net, Map<String, GradientCheck.Result> results, int k) {
        return GradientCheckReport.print(net, results, k, tolerance, System.out) ? Cli.EXIT_OK : Cli.EXIT_FAIL;
    }
}
