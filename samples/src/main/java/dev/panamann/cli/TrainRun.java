package dev.panamann.cli;

import dev.panamann.data.PreparedData;
import dev.panamann.io.Formats;
import dev.panamann.io.TrainingPlots;
import dev.panamann.models.Model;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.train.Evaluation;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.Training;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One training run into one folder: trains a model on prepared data, then evaluates it, prints
 * the results and saves everything ({@link SavedRun}'s files, {@code history.json}, plots).
 * The {@code train} command and the samples are this, step by step.
 */
public final class TrainRun {
    private final Path dir;
    private final Ops ops;
    private final PreparedData data;
    private final ModelSpec spec;
    private final TrainSettings settings;
    private final long seed;
    private final Path dataPath;
    private PrintStream out = System.out;

    /**
     * @param dir      the run folder (created)
     * @param ops      backend the model runs on
     * @param data     prepared data
     * @param spec     the model's architecture
     * @param settings the training schedule
     * @param seed     seed of the minibatch sampling
     * @param dataPath where the data came from (recorded in model.json)
     */
    public TrainRun(Path dir, Ops ops, PreparedData data, ModelSpec spec, TrainSettings settings, long seed, Path dataPath) {
        this.dir = dir;
        this.ops = ops;
        this.data = data;
        this.spec = spec;
        this.settings = settings;
        this.seed = seed;
        this.dataPath = dataPath;
    }

    /** The run folder. */
    public Path dir() { return dir; }

    /** Prints what will run: backend, model, solver, folder. */
    public void describe() {
        out.println(Backends.describe(ops));
        out.println("model " + spec.describe());
        out.println("solver " + settings.describe() + ", seed " + seed);
        out.println("writing to " + dir);
    }

    /** The descriptor of this run with the given results (null while training). */
    public SavedRun.Descriptor descriptor(Map<String, Object> results) {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("path", dataPath.toString());
        info.put("num_train", data.train().size());
        info.put("num_val", data.val().size());
        info.put("num_test", data.test().size());
        return SavedRun.Descriptor.of(spec, data, settings, info, results);
    }

    /**
     * Trains {@code net} (see {@link Training#train}); before the first iteration writes the
     * descriptor and mean image, so that checkpoints in the folder can be evaluated at once, and
     * removes the weights of an earlier run in the folder, which would not match them.
     *
     * @param net        a model built from this run's spec
     * @param printEvery progress line every this many iterations (without a progress bar)
     * @param checkpoint write a checkpoint into the folder every epoch
     * @param resume     a checkpoint to continue from, or null
     */
    public TrainResult train(Model net, int printEvery, boolean checkpoint, Path resume) throws IOException {
        Training.RunOptions o = new Training.RunOptions(seed, printEvery, checkpoint ? dir : null, resume, true);
        return Training.train(net, data, settings, o, () -> {
            // weights of an earlier run in this folder would sit under the new description if this
            // run is killed or fails: remove them first (finish writes this run's)
            if (Files.deleteIfExists(dir.resolve(SavedRun.WEIGHTS))) {
                System.err.println("panama-nn: removed " + dir.resolve(SavedRun.WEIGHTS) + " of an earlier run in this folder");
            }
            SavedRun.writeMeanImage(dir, data.meanImage());
            SavedRun.writeDescriptor(dir, descriptor(null));
        });
    }

    /**
     * What a finished run measured.
     *
     * @param valAcc   validation accuracy of the final (best) parameters
     * @param testAcc  test accuracy
     * @param testPred predicted class of every test example
     * @param files    the files written
     */
    public record Summary(double valAcc, double testAcc, int[] testPred, List<Path> files) {}

    /**
     * Evaluates the trained model on the validation and test sets, prints accuracies (test per class too), wall time
     * (since the program started) and throughput, and saves weights, descriptor (with the results), history and, when
     * {@code plots}, loss / accuracy / first-layer weight pictures.
     */
    public Summary finish(Model net, TrainResult r, boolean plots) throws IOException {
        int batch = settings.batchSize();
        double valAcc = Evaluation.accuracy(net, data.val(), batch);
        int[] pred = Evaluation.predict(net, data.test(), batch);
        double testAcc = Evaluation.accuracy(pred, data.test().y());
        double wall = (System.nanoTime() - Cli.START) / 1e9;

        Map<String, Object> results = new LinkedHashMap<>();
        results.put("val_acc", valAcc);
        results.put("test_acc", testAcc);
        results.put("final_train_acc", r.trainAccHistory().isEmpty() ? null : r.trainAccHistory().getLast());
        results.put("iterations", r.iterations());
        results.put("train_seconds", r.seconds());
        results.put("wall_seconds", wall);
        results.put("train_images_per_second", r.imagesPerSecond());
        results.put("backend", ops.name());
        results.put("threads", ops.threads());
        results.put("seed", seed);
        List<Path> files = new ArrayList<>();
        files.add(SavedRun.writeWeights(dir, net, spec));
        SavedRun.writeMeanImage(dir, data.meanImage());
        if (data.meanImage() != null) files.add(dir.resolve(SavedRun.MEAN_IMAGE));
        files.add(SavedRun.writeDescriptor(dir, descriptor(results)));
        files.add(r.writeHistory(dir));
        if (plots) files.addAll(TrainingPlots.write(dir, r.lossHistory(), r.trainAccHistory(), r.valAccHistory(), net, spec.inputShape()));

        out.println();
        out.printf(Locale.ROOT, "validation accuracy: %.4f (best epoch's parameters, %d images)%n", valAcc, data.val().size());
        out.printf(Locale.ROOT, "test accuracy:       %.4f (%d images)%n", testAcc, data.test().size());
        out.print(Evaluation.perClass(pred, data.test().y(), data.numClasses()).table(data.classNames()));
        out.printf(Locale.ROOT, "wall time %s (training %s), %.0f training images/s on %s with %d threads%n",
                Formats.duration(wall), Formats.duration(r.seconds()), r.imagesPerSecond(), ops.name(), ops.threads());
        List<String> names = new ArrayList<>();
        for (Path p : files) names.add(p.getFileName().toString());
        out.println("saved " + dir + ": " + String.join(", ", names));
        return new Summary(valAcc, testAcc, pred, files);
    }
}
