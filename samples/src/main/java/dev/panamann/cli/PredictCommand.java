package dev.panamann.cli;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panama-nn predict}: class probabilities of image files under a saved model. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify image files (PNG, JPEG) with a saved model and print the class probabilities, most likely first.",
                "Images are resized to the model's input: 32x32 RGB for CIFAR-10 models, 28x28 gray for MNIST models."})
public final class PredictCommand implements Callable<Integer> {
    @Mixin
    BackendOptions backend;

    @Mixin
    SavedModelOptions saved;

    @Option(names = "--top", paramLabel = "K", description = "Print only the K most likely classes (default: all).")
    Integer top;

    @Option(names = "--invert", paramLabel = "auto|yes|no", defaultValue = "auto",
            description = "MNIST models: invert gray levels (MNIST digits are light on dark). auto inverts images with a light border (default: ${DEFAULT-VALUE}).")
    String invert;

    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "Image file(s) to classify.")
    List<Path> images;

    @Override
    public Integer call() throws Exception {
        String inv = invert.toLowerCase(Locale.ROOT);
        if (!List.of("auto", "yes", "no").contains(inv)) throw new UserError("--invert takes auto, yes or no, got '" + invert + "'");
        if (top != null && top < 1) throw new UserError("--top must be >= 1, got " + top);
        try (Ops ops = backend.ops("auto");
             SavedRun.Loaded run = saved.load(ops)) {
            SavedRun.Descriptor d = run.descriptor();
            List<String> names = d.classNames();
            for (Path file : images) {
                BufferedImage img = Images.read(file);
                int[] shape = d.model().inputShape();
                boolean gray = shape.length == 3 && shape[0] == 1;
                boolean doInvert = gray && (inv.equals("yes") || (inv.equals("auto") && Images.lightBackground(img)));
                double[] p;
                try (Tensor x = Images.toInput(img, shape, d.preprocess(), run.meanImage(), doInvert)) {
                    p = softmax(run.model().scores(x).toArray());
                }
                Integer[] order = new Integer[p.length];
                for (int k = 0; k < p.length; k++) order[k] = k;
                Arrays.sort(order, Comparator.comparingDouble((Integer k) -> p[k]).reversed());
                System.out.printf(Locale.ROOT, "%s (%dx%d%s): %s%n", file, img.getWidth(), img.getHeight(), doInvert ? ", inverted" : "",
                        k(names, order[0]));
                int w = 5;
                for (String n : names) w = Math.max(w, n.length());
                int shown = top == null ? p.length : Math.min(top, p.length);
                for (int r = 0; r < shown; r++) {
                    int k = order[r];
                    System.out.printf(Locale.ROOT, "  %-" + w + "s  %6.2f%%  %s%n", k(names, k), 100 * p[k], "#".repeat((int) Math.round(40 * p[k])));
                }
            }
        }
        return Cli.EXIT_OK;
    }

    private static String k(List<String> names, int k) {
        return k < names.size() ? names.get(k) : "class " + k;
    }

    /** Softmax of one row of scores, in double, max subtracted. */
    static double[] softmax(float[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (float s : scores) max = Math.max(max, s);
        double[] p = new double[scores.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(scores[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }
}
