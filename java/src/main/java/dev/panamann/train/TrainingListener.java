package dev.panamann.train;

import java.nio.file.Path;

/**
 * Hooks into the {@link Solver}'s loop; every method defaults to doing nothing. One iteration
 * calls, in this order:
 * <ol>
 *   <li>{@link #beforeStep}: before the minibatch is drawn;</li>
 *   <li>{@link #afterBackward}: after forward, loss and backward, when every
 *       {@code Param.grad()} holds this minibatch's gradient and before the optimizer reads
 *       it (the place for a gradient all-reduce, clipping or inspection);</li>
 *   <li>{@link #afterStep}: after the optimizer changed the parameters;</li>
 *   <li>{@link #onCheck}: at the end of an epoch (and after the first and last iteration),
 *       after the accuracy check and its checkpoint.</li>
 * </ol>
 * {@link #onTrainStart} and {@link #onTrainEnd} enclose each {@link Solver#train()} call;
 * {@code onTrainEnd} also runs when training stops with an exception. Listeners run in the
 * order they were added, after the solver's own progress output and update-ratio monitor. An
 * exception thrown by a listener stops training and propagates from {@link Solver#train()}
 * (the state stays consistent: a checkpoint written so far can be resumed).
 *
 * <p>Iteration numbers: {@code iteration} in {@link #beforeStep} and {@link #afterBackward} is
 * the 0-based index of the step being run ({@link TrainingState#iteration()} before it);
 * {@link Progress#iteration()} counts the steps done, 1 after the first.
 */
public interface TrainingListener {

    /** Before the first iteration of a {@link Solver#train()} call. */
    default void onTrainStart(Solver solver) {}

    /**
     * Before the minibatch of a step is drawn.
     *
     * @param iteration 0-based index of the step
     */
    default void beforeStep(Solver solver, int iteration) {}

    /**
     * After the backward pass of a step, before the optimizer update: every parameter of
     * {@link Solver#params()} holds its gradient of this minibatch.
     *
     * @param iteration 0-based index of the step
     * @param loss      this minibatch's loss
     */
    default void afterBackward(Solver solver, int iteration, float loss) {}

    /** After the optimizer update of a step. */
    default void afterStep(Solver solver, Progress progress) {}

    /** After an accuracy check (and its checkpoint, if any). */
    default void onCheck(Solver solver, Check check) {}

    /** After the last iteration of a {@link Solver#train()} call, or when it stops with an exception. */
    default void onTrainEnd(Solver solver) {}

    /**
     * One iteration done.
     *
     * @param iteration       iterations done so far (1 after the first)
     * @param numIterations   iterations of the whole run
     * @param epoch           epochs completed before this iteration
     * @param numEpochs       epochs of the whole run
     * @param loss            this iteration's loss
     * @param imagesPerSecond training throughput of this {@code train()} call (checks and listeners' afterStep excluded)
     * @param etaSeconds      estimated time to the end of the run
     */
    record Progress(int iteration, int numIterations, int epoch, int numEpochs, float loss, double imagesPerSecond,
                    double etaSeconds) {}

    /**
     * One accuracy check done.
     *
     * @param epoch        epochs completed
     * @param numEpochs    epochs of the whole run
     * @param iteration    iterations done
     * @param trainAcc     accuracy on the training subsample
     * @param valAcc       validation accuracy
     * @param improved     whether this is the best validation accuracy so far
     * @param learningRate the learning rate of the next iteration (after this epoch's schedule step)
     * @param checkpoint   the checkpoint written, or null
     */
    record Check(int epoch, int numEpochs, int iteration, float trainAcc, float valAcc, boolean improved,
                 double learningRate, Path checkpoint) {}
}
