package dev.panamann.examples;

import dev.panamann.cli.CifarDataOptions;
import dev.panamann.cli.Cli;
import dev.panamann.cli.CommonOptions;
import dev.panamann.cli.Inputs;
import dev.panamann.cli.ModelRegistry;
import dev.panamann.cli.UserError;
import dev.panamann.data.Dataset;
import dev.panamann.data.Pca;
import dev.panamann.data.PreparedData;
import dev.panamann.io.Formats;
import dev.panamann.io.Plots;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Evaluation;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.Training;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * PCA and PCA whitening of CIFAR-10 (D = 3072), as in the cs231n notes on data preprocessing:
 * <ol>
 *   <li>fit PCA on the mean-subtracted training images (covariance with the backend's gemm,
 *       eigen-decomposition with LAPACK {@code ssyevd} from OpenBLAS);</li>
 *   <li>how much of the variance the top k components keep;</li>
 *   <li>the top components seen as images ({@code components.png});</li>
 *   <li>PCA whitening: the covariance of the whitened training set, compared with the identity
 *       for several k;</li>
 *   <li>the cs231n two-layer net trained on the top-k PCA coordinates instead of the 3072 pixels
 *       (same settings as {@code panama-nn train --model twolayer}: projection onto the top
 *       components is a rotation followed by dropping low-variance directions, so the same
 *       learning rate fits).</li>
 * </ol>
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -Xmx8g -cp samples/target/panama-nn-samples.jar \
 *       dev.panamann.examples.PcaCifar [--k K] [--whiten-k K,...] [--epochs N] [--num-train N] [--data PATH]
 * </pre>
 */
@Command(name = "PcaCifar", mixinStandardHelpOptions = true, sortOptions = false,
        description = "PCA and PCA whitening of CIFAR-10: explained variance, component images, whitened covariance, "
                + "and the two-layer net trained on the top-k PCA coordinates.")
public final class PcaCifar implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    CifarDataOptions cifar;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/PcaCifar-<timestamp>).")
    Path out;

    @Option(names = "--k", paramLabel = "K", defaultValue = "144",
            description = "PCA coordinates the two-layer net trains on (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--whiten-k", paramLabel = "K", split = ",", defaultValue = "100,500,1000,2000,3072",
            description = "Components kept in the whitening checks (default: ${DEFAULT-VALUE}; values above D are capped).")
    int[] whitenK;

    @Option(names = "--eps", paramLabel = "E", defaultValue = "1e-5",
            description = "Added to each variance before whitening (default: ${DEFAULT-VALUE}, as in the cs231n notes).")
    float eps;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "13",
            description = "Epochs of the two-layer net; 0 skips the training (default: ${DEFAULT-VALUE}).")
    int epochs;


    /**
     * A row of the whitening check: components kept, the variance of the last one kept, the
     * largest |C_ii - 1| and |C_ij| (i != j) of the whitened training set's covariance C.
     */
    record WhiteningCheck(int k, float smallestVariance, double maxDiagonalError, double maxOffDiagonal) {}

    public static void main(String[] args) {
        System.exit(Cli.runSample(new PcaCifar(), args));
    }

    @Override
    public Integer call() throws Exception {
        if (k < 1) throw new UserError("--k must be at least 1, got " + k);
        if (epochs < 0) throw new UserError("--epochs must be >= 0, got " + epochs);
        if (!(eps >= 0) || !Float.isFinite(eps)) throw new UserError("--eps must be a finite number >= 0, got " + eps);
        for (int w : whitenK) if (w < 1) throw new UserError("--whiten-k values must be at least 1, got " + w);

        Steps.section(System.out, "1. Data: CIFAR-10, cs231n split, mean image subtracted");
        try (Ops ops = common.ops("native");
             PreparedData d = cifar.load(System.out)) {
            Path dir = Inputs.outDir(out, "PcaCifar");
            Dataset train = d.train();
            int n = train.size();
            int dim = train.x().sizeInt() / n;
            if (k > dim) throw new UserError("--k must be at most D = " + dim + ", got " + k);

            Steps.section(System.out, "2. Fit PCA on the " + n + " training images, D = " + dim);
            long t0 = System.nanoTime();
            Pca fitted;
            try {
                fitted = Pca.fit(train.x(), ops);
            } catch (UnsatisfiedLinkError e) {
                throw new UserError(e.getMessage(), e); // no LAPACK: nothing to fall back on
            }
            try (Pca pca = fitted) {
                System.out.printf(Locale.ROOT, "covariance (gemm) and eigen-decomposition (LAPACK ssyevd): %s%n",
                        Formats.duration((System.nanoTime() - t0) / 1e9));
                printVariance(pca, n);

                Steps.section(System.out, "3. The top 49 principal components as images: components.png");
                int shown = Math.min(49, dim);
                Path png = dir.resolve("components.png");
                try (Tensor top = pca.components().slice(0, shown).reshape(shown, 3, 32, 32)) {
                    Plots.weightGrid(top, null, 1, 2, png);
                }
                System.out.println("wrote " + png);

                Steps.section(System.out, String.format(Locale.ROOT,
                        "4. PCA whitening (eps %.0e): covariance of the whitened training set against the identity", eps));
                int[] ks = new int[whitenK.length];
                for (int i = 0; i < ks.length; i++) ks[i] = Math.min(whitenK[i], Math.min(dim, n));
                long tw = System.nanoTime();
                List<WhiteningCheck> checks = checkWhitening(ops, pca, train.x(), ks, eps);
                System.out.printf(Locale.ROOT, "%8s  %14s  %16s  %18s%n", "k", "variance_k", "max |C_ii - 1|", "max |C_ij|, i != j");
                for (WhiteningCheck c : checks) {
                    System.out.printf(Locale.ROOT, "%8d  %14.4e  %16.3e  %18.3e%n", c.k(), c.smallestVariance(),
                            c.maxDiagonalError(), c.maxOffDiagonal());
                }
                System.out.printf(Locale.ROOT, "(whitening and covariance: %s)%n", Formats.duration((System.nanoTime() - tw) / 1e9));
                System.out.printf(Locale.ROOT, "Whitening divides each coordinate by sqrt(variance + eps). Variances near the float32 "
                        + "round-off of the covariance%n(about 1e-7 x the largest, %.1e here) are noise, and dividing by their "
                        + "square root blows the noise up:%nkeep k to components well above that level, or raise --eps.%n",
                        1e-7 * pca.variances()[0]);

                if (epochs > 0) trainOnProjection(ops, d, pca, dir);
            }
        }
        return Cli.EXIT_OK;
    }

    /** Variance kept by the top k components for a few k, and the k needed for 90, 95 and 99 %. */
    private static void printVariance(Pca pca, int n) {
        float[] v = pca.variances();
        int dim = v.length;
        System.out.printf(Locale.ROOT, "largest variance %.4g, smallest %.4g (pixel units squared)%n", v[0], v[dim - 1]);
        System.out.printf(Locale.ROOT, "%8s  %s%n", "k", "variance kept");
        for (int k : new int[] {1, 10, 50, 100, 144, 200, 500, 1000, dim}) {
            if (k <= dim) System.out.printf(Locale.ROOT, "%8d  %s%n", k, Formats.percent(pca.explainedVariance(k)));
        }
        for (double target : new double[] {0.90, 0.95, 0.99}) {
            int k = 1;
            while (k < dim && pca.explainedVariance(k) < target) k++;
            System.out.printf(Locale.ROOT, "%s of the variance: top %d components%n", Formats.percent(target), k);
        }
        if (n <= dim) System.out.printf(Locale.ROOT, "(only %d images for %d features: at most %d non-zero variances)%n", n, dim, n - 1);
    }

    /**
     * Whitens x onto the top max(ks) components once and compares the covariance of its first
     * k coordinates with the identity for each k: coordinate j does not depend on how many are
     * kept, so the covariance for k is the top-left k x k block of the largest one.
     */
    static List<WhiteningCheck> checkWhitening(Ops ops, Pca pca, Tensor x, int[] ks, float eps) {
        int n = x.dim(0), kmax = 0;
        for (int k : ks) kmax = Math.max(kmax, k);
        List<WhiteningCheck> checks = new ArrayList<>();
        try (Tensor z = pca.whiten(x, kmax, eps); Tensor cov = Tensor.zeros(kmax, kmax)) {
            ops.gemm(true, false, kmax, kmax, n, 1f / n, z, z, 0f, cov);
            for (int k : ks) {
                double diag = 0, off = 0;
                for (int i = 0; i < k; i++) {
                    for (int j = 0; j < k; j++) {
                        double c = cov.getFlat((long) i * kmax + j);
                        if (i == j) diag = Math.max(diag, Math.abs(c - 1));
                        else off = Math.max(off, Math.abs(c));
                    }
                }
                checks.add(new WhiteningCheck(k, pca.variances()[k - 1], diag, off));
            }
        }
        return checks;
    }

    /** The two-layer net with the default CIFAR-10 settings, on the top-k PCA coordinates. */
    private void trainOnProjection(Ops ops, PreparedData d, Pca pca, Path dir) throws Exception {
        TrainSettings s = ModelRegistry.get("twolayer").training().withEpochs(epochs);
        Steps.section(System.out, "5. Two-layer net 3072 -> " + k + " PCA coordinates -> 300 -> 10; " + s.describe());
        long t0 = System.nanoTime();
        Dataset tr = pca.project(d.train(), k);
        Dataset va = null, te = null;
        try {
            va = pca.project(d.val(), k);
            te = pca.project(d.test(), k);
        } catch (RuntimeException e) {
            tr.close();
            if (va != null) va.close();
            throw e;
        }
        Dataset[] parts = {tr, va, te};
        AutoCloseable owner = () -> {
            for (Dataset p : parts) p.close();
        };
        System.out.printf(Locale.ROOT, "projected train, val and test onto %d components (%s)%n", k,
                Formats.duration((System.nanoTime() - t0) / 1e9));
        try (PreparedData p = new PreparedData("cifar10-pca", tr, va, te, d.classNames(), PreparedData.AS_IS, null, owner);
             TwoLayerNet net = new TwoLayerNet(ops, k, 300, d.numClasses(), 1e-4f, 1e-2f, common.seed)) {
            TrainResult r = Training.train(net, p, s, Training.RunOptions.printing(common.seed, 100));
            double test = Evaluation.accuracy(net, te, 1000);
            System.out.printf(Locale.ROOT, "best val accuracy %s, test accuracy %s (%d PCA coordinates, %s, %.0f training images/s)%n",
                    Formats.percent(r.bestValAcc()), Formats.percent(test), k, Formats.duration(r.seconds()), r.imagesPerSecond());
            Path history = r.writeHistory(dir);
            System.out.println("wrote " + history);
        }
    }
}
