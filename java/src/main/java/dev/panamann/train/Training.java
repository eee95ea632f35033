package dev.panamann.train;

import dev.panamann.data.PreparedData;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.models.DataParallel;
import dev.panamann.models.SequentialModel;
import dev.panamann.models.Model;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Training a model on prepared data in one call: a {@link Solver} set up from
 * {@link TrainSettings} and {@link RunOptions}, progress as a bar on a terminal and plain lines
 * otherwise, optional checkpoints and resume; the result is a {@link TrainResult}.
 */
public final class Training {
    private Training() {}

    /**
     * How a training run reports and saves its progress.
     *
     * @param seed          seed of the minibatch sampling
     * @param printEvery    print a line every this many iterations (when no progress bar)
     * @param checkpointDir write {@code checkpoint_epoch_<e>.safetensors} here every epoch, or null
     * @param resume        a checkpoint to continue from, or null
     * @param verbose       print progress at all (on System.out)
     */
    public record RunOptions(long seed, int printEvery, Path checkpointDir, Path resume, boolean verbose) {
        /** Progress printed, no checkpoints. */
        public static RunOptions printing(long seed, int printEvery) {
            return new RunOptions(seed, printEvery, null, null, true);
        }

        /** Nothing printed, no checkpoints (for search trials). */
        public static RunOptions quiet(long seed) {
            return new RunOptions(seed, 100, null, null, false);
        }
    }

    /** Something to do once the solver is ready (after a resume succeeded) and before training starts. */
    @FunctionalInterface
    public interface BeforeTraining {
        /** Runs once, before the first iteration. */
        void run() throws IOException;
    }

    /**
     * Trains {@code model} on {@code data.train()} with the {@link Solver}, validating on
     * {@code data.val()} every epoch. Afterwards the model holds the parameters of the best
     * validation accuracy.
     *
     * @param model a model whose input shape is the data's example shape
     * @param data  training and validation sets
     * @param s     update rule, learning rate and schedule, batch size, epochs, augmentation, label
     *              smoothing (which replaces the softmax loss of a {@link SequentialModel})
     * @param o     seed, printing, checkpoints, resume
     */
    public static TrainResult train(Model model, PreparedData data, TrainSettings s, RunOptions o) throws IOException {
        return train(model, data, s, o, () -> { });
    }

    /**
     * As {@link #train(Model, PreparedData, TrainSettings, RunOptions)}, running {@code before}
     * after the solver is set up (and has resumed, if asked) and before the first iteration.
     *
     * @param before what to do just before training starts
     * @throws NoSuchFileException      when the checkpoint to resume from does not exist
     * @throws IllegalArgumentException when the checkpoint does not fit this run
     */
    public static TrainResult train(Model model, PreparedData data, TrainSettings s, RunOptions o, BeforeTraining before)
            throws IOException {
        double[] ips = {0};
        if (s.labelSmoothing() > 0) {
            Model inner = model instanceof DataParallel dp ? dp.model() : model;
            if (!(inner instanceof SequentialModel sm) || !(sm.criterion() instanceof SoftmaxCrossEntropy)) {
                throw new IllegalArgumentException("--label-smoothing needs the softmax loss");
            }
            if (model instanceof DataParallel dp) dp.setLoss(() -> new SoftmaxCrossEntropy(s.labelSmoothing()));
            else sm.setLoss(new SoftmaxCrossEntropy(s.labelSmoothing()));
        }
        try (Solver solver = new Solver(model, data.train(), data.val())
                .updateRule(s.updateRule())
                .optimConfig(s.optimConfig())
                .schedule(s.lrSchedule())
                .batchSize(s.batchSize())
                .numEpochs(s.epochs())
                .flipHorizontal(s.flip())
                .augment(s.augmentation())
                .printEvery(o.printEvery())
                .seed(o.seed())
                .verbose(o.verbose())
                .addListener(new TrainingListener() {
                    @Override
                    public void afterStep(Solver solver, Progress p) { ips[0] = p.imagesPerSecond(); }
                })) {
            if (o.checkpointDir() != null) solver.checkpointName(o.checkpointDir().resolve("checkpoint").toString());
            if (o.resume() != null) resume(solver, o.resume(), o.verbose() ? System.out : null);
            before.run();
            long t0 = System.nanoTime();
            solver.train();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new TrainResult(solver.bestValAcc(), List.copyOf(solver.lossHistory()), List.copyOf(solver.trainAccHistory()),
                    List.copyOf(solver.valAccHistory()), seconds, ips[0], solver.iteration());
        }
    }

    private static void resume(Solver solver, Path checkpoint, PrintStream log) throws IOException {
        if (!Files.exists(checkpoint)) {
            throw new NoSuchFileException(checkpoint.toString(), null, "checkpoint not found");
        }
        try {
            solver.resume(checkpoint);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot resume from " + checkpoint + ": " + e.getMessage()
                    + "\n  Resume with the settings of the interrupted run (model, batch size, update rule, number of training examples).", e);
        }
        if (log != null) {
            log.printf(Locale.ROOT, "resumed from %s: epoch %d, iteration %d of %d, best val acc %.4f%n", checkpoint,
                    solver.epoch(), solver.iteration(), solver.numIterations(), solver.bestValAcc());
        }
    }

    /**
     * One trial of a hyperparameter search: builds the model, trains it quietly and hands it to
     * the search with its best validation accuracy (the model is closed if training fails).
     *
     * @param build makes the trial's model
     * @param data  training and validation sets
     * @param s     the trial's schedule
     * @param seed  seed of the minibatch sampling
     */
    public static HyperparameterSearch.Outcome trial(Supplier<? extends Model> build, PreparedData data, TrainSettings s, long seed)
            throws IOException {
        Model net = build.get();
        try {
            TrainResult r = train(net, data, s, RunOptions.quiet(seed));
            return new HyperparameterSearch.Outcome(net, r.bestValAcc(),
                    r.trainAccHistory().isEmpty() ? Double.NaN : r.trainAccHistory().getLast());
        } catch (IOException | RuntimeException | Error e) {
            net.close();
            throw e;
        }
    }
}
