package dev.panamann.cli;

import dev.panamann.models.MnistCnn;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.GradientCheck;
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
                "Prints the relative error per parameter and PASS/FAIL; exit code 1 when any parameter fails.",
                "The error that decides is GradientCheck's: |a - n| / max(|a| + |n|, 0.1 * largest |a| + |n| of the check), "
                        + "with one-sided differences where a ReLU or max-pool kink spoils the centered one."})
public final class GradcheckCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    LossOption lossOption;

    @Option(names = "--model", paramLabel = "TYPE", defaultValue = "twolayer",
            description = "twolayer, fc (with batch norm), convnet, mnist-cnn (its layer stack at small sizes, no dropout), sigmoid-mlp "
                    + "or prelu-mlp (default: ${DEFAULT-VALUE}).")
    String model;

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
        String type = model.toLowerCase(Locale.ROOT);
        if (!ModelSpec.TYPES.contains(type)) throw new UserError("unknown --model '" + model + "': use one of " + String.join(", ", ModelSpec.TYPES));
        if (!(step > 0) || !(tolerance > 0)) throw new UserError("--step and --tolerance must be > 0");
        lossOption.check();
        boolean mnist = type.equals("mnist-cnn");
        ModelSpec spec = mnist ? null : lossOption.apply(smallSpec(type, common.seed));
        int n = batch != null ? batch : defaultBatch(type);
        if (n < 1) throw new UserError("--batch must be >= 1, got " + n);
        int k = samples != null ? samples : 0;
        if (k < 0) throw new UserError("--samples must be >= 0, got " + k);

        try (Ops ops = common.ops("auto"); Model net = mnist ? smallMnistCnn(ops, 0.1f, common.seed).setLoss(lossOption.newLoss()) : spec.build(ops)) {
            int[] in = mnist ? SMALL_MNIST_INPUT : spec.inputShape();
            Rng rng = new Rng(common.seed + 1);
            int[] xShape = new int[in.length + 1];
            xShape[0] = n;
            System.arraycopy(in, 0, xShape, 1, in.length);
            int[] y = new int[n];
            for (int i = 0; i < n; i++) y[i] = rng.nextInt(net.numClasses());
            System.out.printf(Locale.ROOT, "gradient check of %s on %s backend: batch %s, step %.0e, tolerance %.0e, %s%n",
                    mnist ? SMALL_MNIST_DESCRIPTION : spec.describe(), ops.name(), Arrays.toString(xShape), step, tolerance,
                    k == 0 ? "every element" : k + " random elements per parameter");
            Map<String, GradientCheck.Result> results;
            try (Tensor x = Tensor.randn(rng, 1f, xShape)) {
                results = k == 0 ? GradientCheck.checkModel(net, x, y, step) : sampledCheck(net, x, y, step, k, rng);
            }
            return report(net, results, k);
        }
    }

    /** Examples in the random batch: few where one weight reaches many ReLU / max-pool kinks. */
    static int defaultBatch(String type) {
        return switch (type) {
            case "mnist-cnn", "convnet" -> 3;
            default -> 6;
        };
    }

    /** Small shapes that still exercise every path (reg > 0, so the L2 gradient is checked too). */
    static ModelSpec smallSpec(String type, long seed) {
        int[] flat = {12};
        return switch (type) {
            case "twolayer" -> new ModelSpec(type, flat, 5, new int[] {10}, 0.3f, false, false, 0f, 0.1f, 0, 0, seed);
            case "fc" -> new ModelSpec(type, flat, 5, new int[] {10, 8}, 0.3f, false, true, 0f, 0.1f, 0, 0, seed);
            // a 4x4 image keeps the ReLU and max-pool kinks that one conv weight can cross within a step rare
            case "convnet" -> new ModelSpec(type, new int[] {3, 4, 4}, 5, new int[] {10}, 0.3f, false, false, 0f, 0.1f, 4, 3, seed);
            case "sigmoid-mlp", "prelu-mlp" -> new ModelSpec(type, flat, 5, new int[] {10}, 1f, false, false, 0f, 0.1f, 0, 0, seed);
            default -> throw new UserError("unknown model " + type);
        };
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
        return Workflows.printGradCheck(net, results, k, tolerance, System.out) ? Cli.EXIT_OK : Cli.EXIT_FAIL;
    }

    /** Input of the small MNIST conv net that {@code gradcheck --model mnist-cnn} checks. */
    static final int[] SMALL_MNIST_INPUT = {1, 4, 4};

    /**
     * {@link MnistCnn}'s layer stack at small sizes: conv5x5x3 (pad 2) - relu - pool2 -
     * conv5x5x4 (pad 2) - relu - pool2 - fc8 - relu - fc10, on (1, 4, 4) inputs, He
     * initialization, no dropout (its masks are random). At MnistCnn's own sizes (28x28, 32 and
     * 64 filters) one conv weight moves over a thousand ReLU inputs and max-pool windows, so
     * float32 steps large enough to be measured cross many kinks and the check says nothing.
     */
    static MnistCnn smallMnistCnn(Ops ops, float reg, long seed) {
        return new MnistCnn(ops, SMALL_MNIST_INPUT[1], 3, 4, 8, 0f, reg, seed);
    }

    static final String SMALL_MNIST_DESCRIPTION = "mnist-cnn's layers at small sizes: input " + Arrays.toString(SMALL_MNIST_INPUT)
            + ", conv5x5x3 - relu - pool - conv5x5x4 - relu - pool - fc8 - relu - fc10, reg 0.1";
}
