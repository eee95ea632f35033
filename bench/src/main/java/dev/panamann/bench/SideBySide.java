package dev.panamann.bench;

import dev.panamann.data.Batcher;
import dev.panamann.data.Cifar10;
import dev.panamann.data.Dataset;
import dev.panamann.data.Preprocess;
import dev.panamann.models.DataParallel;
import dev.panamann.models.FullyConnectedNet;
import dev.panamann.models.Model;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The panama-nn side of the side-by-side whole-run benchmark ({@code bench/side-by-side.sh}):
 * trains or evaluates each case on real CIFAR-10 images and prints one line per case,
 * {@code RESULT <case> <images/s> <seconds> <last loss>}.
 *
 * <p>Each case: the first {@code --images} training images minus their mean image;
 * {@code --warmup} steps (not timed), then {@code --epochs} shuffled epochs (the last partial
 * batch dropped), timed as a whole. The PyTorch and DJL workers in {@code bench/} do the
 * same cases with the same shapes, initialization scales and hyperparameters:
 * <ul>
 *   <li>{@code convnet-adam-64}, {@code convnet-adam-256}: the CIFAR-10 conv net
 *       (conv7x7(32) - relu - pool - affine(100) - relu - affine(10)), weight scale 1e-3,
 *       L2 1e-3, Adam 1e-3 (the main job's settings) at batch 64 and 256;</li>
 *   <li>{@code convnet-sgdm-64}, {@code convnet-sgdm-256}: the same with SGD-momentum
 *       (lr 1e-2, momentum 0.9);</li>
 *   <li>{@code convnet-infer-256}: scores of the conv net in evaluation mode, batch 256;</li>
 *   <li>{@code twolayer-64}, {@code twolayer-256}: TwoLayerNet 3072-300-10, weight scale 1e-4,
 *       L2 1e-2, SGD 1.6e-3 (the project's TwoLayerNet settings);</li>
 *   <li>{@code fcbn-200}: FullyConnectedNet 3072-200-100-10 with batch norm, He init, L2 1e-3,
 *       Adam 1e-3, batch 200 (the project's fc settings).</li>
 * </ul>
 * The L2 term is the optimizer's weight decay on the weights ({@code weight_decay}, the model's
 * {@code reg} 0), as the PyTorch and DJL workers apply it: the same parameter updates, to the
 * bit, as the model's {@code reg} (up to float rounding where SGD runs fused, below), without
 * {@code 0.5 reg sum(W^2)} in the loss printed.
 *
 * <p>Usage: {@code SideBySide --data DIR [--cases a,b,...] [--images N] [--warmup W] [--epochs E]}.
 * The backend and threads come from the usual settings ({@code panamann.backend},
 * {@code panamann.threads}); nothing else is set. A training step is {@code Model.trainStep}
 * (which fuses plain SGD into the data-parallel products); {@code
 * -Dpanamann.bench.twoCalls=true} makes it {@code loss} then {@code Optimizer.step}, to
 * measure what the fused update gains.
 */
public final class SideBySide {
    /** Every case, in the order they run. */
    public static final List<String> CASES = List.of("convnet-adam-64", "convnet-adam-256", "convnet-sgdm-64", "convnet-sgdm-256",
            "convnet-infer-256", "twolayer-64", "twolayer-256", "fcbn-200");

    /** {@code -Dpanamann.bench.twoCalls=true}: loss, then the optimizer's step (never fused). */
    private static final boolean TWO_CALLS = Boolean.getBoolean("panamann.bench.twoCalls");

    private SideBySide() {}

    /** One case's measurement. */
    public record Result(String name, double imagesPerSecond, double seconds, double loss) {
        /** The line the driver parses. */
        public String line() {
            return String.format(Locale.ROOT, "RESULT %s %.1f %.3f %.5f", name, imagesPerSecond, seconds, loss);
        }
    }

    public static void main(String[] args) throws Exception {
        Path data = null;
        List<String> cases = CASES;
        int images = 10_000, warmup = 20, epochs = 1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println("SideBySide --data DIR [--cases " + String.join(",", CASES) + "] [--images N] [--warmup W] [--epochs E]");
                return;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("option " + a + " needs a value");
            String v = args[++i];
            switch (a) {
                case "--data" -> data = Path.of(v);
                case "--cases" -> cases = List.of(v.split(","));
                case "--images" -> images = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--epochs" -> epochs = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + a + " (try --help)");
            }
        }
        if (data == null) throw new IllegalArgumentException("--data DIR (cifar-10-batches-bin or the .tar.gz) is required");
        try (Ops ops = Backends.get()) {
            String backend = ops instanceof dev.panamann.ops.dnnl.NativeOps n ? n.describe() : ops.toString();
            System.out.println("INFO panama-nn " + backend + "; java " + Runtime.version());
            run(ops, data, cases, images, warmup, epochs, System.out);
        }
    }

    /** Runs the cases on {@code ops} and prints each result line to {@code out}; returns the results. */
    public static List<Result> run(Ops ops, Path data, List<String> cases, int images, int warmup, int epochs, PrintStream out)
            throws java.io.IOException {
        for (String c : cases) {
            if (!CASES.contains(c)) throw new IllegalArgumentException("unknown case '" + c + "': use some of " + CASES);
        }
        if (images < 1 || warmup < 0 || epochs < 1) {
            throw new IllegalArgumentException("need images >= 1, warmup >= 0, epochs >= 1; got " + images + ", " + warmup + ", " + epochs);
        }
        List<Result> results = new ArrayList<>();
        try (Cifar10.Data d = Cifar10.load(data, images, 0); Tensor mean = Preprocess.subtractMeanImage(d.train())) {
            for (String c : cases) {
                Result r = runCase(ops, d.train(), c, warmup, epochs);
                out.println(r.line());
                out.flush();
                results.add(r);
            }
        }
        return results;
    }

    static int batchOf(String c) {
        return Integer.parseInt(c.substring(c.lastIndexOf('-') + 1));
    }

    static Result runCase(Ops ops, Dataset train, String c, int warmup, int epochs) {
        int batch = batchOf(c);
        if (train.size() < batch) throw new IllegalArgumentException("case " + c + " needs at least " + batch + " images, got " + train.size());
        boolean infer = c.startsWith("convnet-infer");
        Dataset ds = c.startsWith("convnet") ? train : train.flatten();
        try (Model net = DataParallel.of(ops, o -> model(o, c)); Optimizer opt = infer ? null : optimizer(c); Batcher b = new Batcher(ds, batch, new Rng(7))) {
            List<Param> params = net.params();
            if (opt != null) opt.prepare(params);
            double loss = 0;
            for (int s = 0; s < warmup; s++) {
                b.sample();
                loss = step(net, opt, b);
            }
            long images = 0, t0 = System.nanoTime();
            for (int e = 0; e < epochs; e++) {
                b.startEpoch(!infer, true);
                while (b.nextBatch()) {
                    loss = step(net, opt, b);
                    images += b.batchRows();
                }
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            return new Result(c, images / sec, sec, loss);
        }
    }

    private static double step(Model net, Optimizer opt, Batcher b) {
        if (opt == null) {
            Tensor scores = net.scores(b.batch());
            return scores.segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0);
        }
        if (TWO_CALLS) {
            float loss = net.loss(b.batch(), b.y());
            opt.step(net.params());
            return loss;
        }
        return net.trainStep(b.batch(), b.y(), opt); // loss and update (fused for plain SGD with replicas)
    }

    /** The case's model, with reg 0: its L2 term is the optimizer's weight decay ({@link #optimizer}). */
    static Model model(Ops ops, String c) {
        if (c.startsWith("convnet")) return new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, 0f, 1);
        if (c.startsWith("twolayer")) return new TwoLayerNet(ops, 3 * 32 * 32, 300, 10, 1e-4f, 0f, 1);
        return new FullyConnectedNet(ops, new int[] {200, 100}, 3 * 32 * 32, 10,
                FullyConnectedNet.Options.DEFAULT.withHeInit().withBatchNorm(true).withReg(0f).withSeed(1));
    }

    /** The L2 strength of a case: 1e-2 for TwoLayerNet, 1e-3 for the others. */
    static double reg(String c) {
        return c.startsWith("twolayer") ? 1e-2 : 1e-3;
    }

    static Optimizer optimizer(String c) {
        double wd = (float) reg(c); // the float the model's reg would hold
        if (c.startsWith("convnet-sgdm")) {
            return Optimizers.create("sgd_momentum", Map.of("learning_rate", 1e-2, "momentum", 0.9, "weight_decay", wd));
        }
        if (c.startsWith("twolayer")) return Optimizers.create("sgd", Map.of("learning_rate", 1.6e-3, "weight_decay", wd));
        return Optimizers.create("adam", Map.of("learning_rate", 1e-3, "weight_decay", wd));
    }
}
