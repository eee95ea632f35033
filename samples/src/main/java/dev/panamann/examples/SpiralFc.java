package dev.panamann.examples;

import dev.panamann.cli.Cli;
import dev.panamann.cli.CommonOptions;
import dev.panamann.cli.Inputs;
import dev.panamann.cli.ModelSpec;
import dev.panamann.cli.UserError;
import dev.panamann.data.Dataset;
import dev.panamann.data.PreparedData;
import dev.panamann.data.Splits;
import dev.panamann.data.ToyData;
import dev.panamann.io.Formats;
import dev.panamann.io.Plots;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Evaluation;
import dev.panamann.train.GradientCheck;
import dev.panamann.train.GradientCheckReport;
import dev.panamann.train.HyperparameterSearch;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.Training;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * A fully-connected net with batch norm and dropout on the cs231n spiral (3 classes in 2-D):
 * a gradient check, overfitting a tiny subset to 100% training accuracy (the net can learn),
 * a small random search over learning rate, regularization, dropout and width, and the test
 * accuracy of the best net on held-out spiral points, with a picture of its decision regions.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp samples/target/panama-nn-samples.jar \
 *       dev.panamann.examples.SpiralFc [--trials N] [--points N] [--out DIR]
 * </pre>
 */
@Command(name = "SpiralFc", mixinStandardHelpOptions = true, sortOptions = false,
        description = "FullyConnectedNet with batch norm and dropout on the 3-class spiral: gradient check, overfit, random search, test accuracy.")
public final class SpiralFc implements Callable<Integer> {
    /** The test accuracy this sample aims for. */
    static final double TARGET = 0.95;

    @Mixin
    CommonOptions common;

    @Option(names = "--points", paramLabel = "N", defaultValue = "300", description = "Points per class (default: ${DEFAULT-VALUE}).")
    int points;

    @Option(names = "--trials", paramLabel = "N", defaultValue = "10", description = "Random search trials (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "40", description = "Epochs per search trial (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/SpiralFc-<timestamp>).")
    Path out;

    public static void main(String[] args) {
        System.exit(Cli.runSample(new SpiralFc(), args));
    }

    @Override
    public Integer call() throws Exception {
        if (points < 10) throw new UserError("--points must be >= 10, got " + points);
        List<String> classes = List.of("arm 0", "arm 1", "arm 2");
        Rng rng = new Rng(common.seed);
        try (Ops ops = common.ops("auto");
             Dataset all = ToyData.spiral(points, classes.size(), rng);
             Splits parts = Splits.byRatio(all, rng, 3, 1, 1)) {
            Path dir = Inputs.outDir(out, "SpiralFc");
            Steps.section(System.out, "1. Data: the cs231n spiral, 3 arms of " + points + " points, shuffled and split 3:1:1");
            System.out.println(parts + " (train / val / test)");
            PreparedData d = new PreparedData("spiral", parts.train(), parts.val(), parts.test(), classes, PreparedData.AS_IS, null,
                    () -> { });
            int[] in = d.exampleShape();

            Steps.section(System.out, "2. Gradient check: 2 hidden layers of 20 with batch norm, reg 0.1, on 8 points");
            ModelSpec small = new ModelSpec("fc", in, 3, new int[] {20, 20}, 0.5f, true, true, 0f, 0.1f, 0, 0, common.seed);
            try (Model net = small.build(ops); Dataset eight = d.train().head(8)) {
                var results = GradientCheck.checkModel(net, eight.x(), eight.y(), GradientCheck.STEP);
                if (!GradientCheckReport.print(net, results, 0, GradientCheck.TOLERANCE, System.out)) return Cli.EXIT_FAIL;
            }

            Steps.section(System.out, "3. Overfit 30 points: without regularization the net must reach 100% training accuracy");
            ModelSpec wide = new ModelSpec("fc", in, 3, new int[] {100, 100}, 0.5f, true, true, 0f, 0f, 0, 0, common.seed);
            try (Dataset tiny = d.train().head(30); Model net = wide.build(ops)) {
                PreparedData t = new PreparedData("spiral", tiny, d.val(), d.test(), classes, PreparedData.AS_IS, null, () -> { });
                TrainResult r = Training.train(net, t, new TrainSettings("adam", 1e-2, 1.0, 30, 200), Training.RunOptions.quiet(common.seed));
                double trainAcc = Evaluation.accuracy(net, tiny, 30);
                System.out.printf(Locale.ROOT, "training accuracy on the 30 points after %d iterations: %s (final loss %.4f)%n",
                        r.iterations(), Formats.percent(trainAcc), r.lossHistory().getLast());
                if (trainAcc < 1.0) System.out.println("WARNING: the net did not overfit 30 points; something is wrong");
            }

            Steps.section(System.out, "4. Random search: lr, reg, dropout, width (2 hidden layers, batch norm, adam, batch 50)");
            HyperparameterSearch search = new HyperparameterSearch()
                    .logUniform("lr", 1e-3, 3e-2)
                    .logUniform("reg", 1e-5, 1e-2)
                    .uniform("dropout", 0, 0.3)
                    .values("hidden", 50, 100, 200);
            TrainSettings schedule = new TrainSettings("adam", 1e-2, 0.98, 50, epochs);
            search.randomSearch(trials, common.seed, trial -> {
                int h = trial.getInt("hidden");
                ModelSpec spec = wide.withHidden(h, h).withReg((float) trial.get("reg")).withDropout((float) trial.get("dropout"))
                        .withSeed(common.seed + trial.index());
                return Training.trial(() -> spec.build(ops), d, schedule.withLearningRate(trial.get("lr")), common.seed + trial.index());
            });
            search.printTable(System.out);
            search.writeCsv(dir.resolve("search.csv"));
            if (search.best() == null) throw new UserError("every trial failed; see the errors above");

            Steps.section(System.out, "5. The best net on the held-out test points");
            try (Model best = search.bestModel()) {
                int[] pred = Evaluation.predict(best, d.test(), 100);
                double acc = Evaluation.accuracy(pred, d.test().y());
                var p = search.best().params();
                System.out.printf(Locale.ROOT, "best: trial %d (lr %.2e, reg %.2e, dropout %.2f, hidden %d) -> validation %s, test %s "
                        + "(target >= %s): %s%n", search.best().trial(), p.get("lr"), p.get("reg"), p.get("dropout"),
                        Math.round(p.get("hidden")), Formats.percent(search.best().valAcc()), Formats.percent(acc),
                        Formats.percent(TARGET), acc >= TARGET ? "reached" : "NOT reached");
                System.out.print(Evaluation.perClass(pred, d.test().y(), classes.size()).table(classes));
                Path png = dir.resolve("decision_regions.png");
                Plots.writeImage(regions(best, d.train(), 400), png);
                System.out.println("wrote " + png + " and " + dir.resolve("search.csv"));
            }
        }
        return Cli.EXIT_OK;
    }

    /**
     * The model's decision regions over [-1.1, 1.1]^2 (light colors) with the training points on
     * top (dark colors).
     *
     * @param model  a classifier of 2-D points (3 classes)
     * @param points x (N, 2), N labels
     * @param size   image width and height in pixels
     */
    static BufferedImage regions(Model model, Dataset points, int size) {
        Color[] light = {new Color(255, 200, 200), new Color(200, 235, 200), new Color(200, 210, 255)};
        Color[] dark = {new Color(200, 30, 30), new Color(20, 140, 40), new Color(30, 60, 210)};
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        double lo = -1.1, step = 2.2 / (size - 1);
        float[] row = new float[2 * size];
        try (Tensor x = Tensor.zeros(size, 2)) {
            for (int i = 0; i < size; i++) {
                for (int j = 0; j < size; j++) {
                    row[2 * j] = (float) (lo + j * step);
                    row[2 * j + 1] = (float) (lo + (size - 1 - i) * step);
                }
                x.copyFrom(row);
                int[] pred = Evaluation.predict(model, new Dataset(x, new int[size]), size);
                for (int j = 0; j < size; j++) img.setRGB(j, i, light[pred[j] % light.length].getRGB());
            }
        }
        float[] p = points.x().toArray();
        for (int k = 0; k < points.size(); k++) {
            int px = (int) Math.round((p[2 * k] - lo) / step), py = size - 1 - (int) Math.round((p[2 * k + 1] - lo) / step);
            for (int dy = -2; dy <= 2; dy++) {
                for (int dx = -2; dx <= 2; dx++) {
                    int xx = px + dx, yy = py + dy;
                    if (xx >= 0 && yy >= 0 && xx < size && yy < size && dx * dx + dy * dy <= 5) {
                        img.setRGB(xx, yy, dark[points.y()[k] % dark.length].getRGB());
                    }
                }
            }
        }
        return img;
    }
}
