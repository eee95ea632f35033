package dev.panamann.train;

/**
 * Training produced a non-finite loss (NaN or infinite), or non-finite parameters at a check:
 * the run diverged. {@link Solver#train()} throws it before the optimizer applies the bad
 * step, so the model keeps the parameters of the last good iteration and no checkpoint is
 * written from the bad state; the last checkpoint on disk stays the last good one. The usual
 * cure is a smaller learning rate.
 */
public final class TrainingDivergedException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final int epoch, iteration;
    private final double learningRate;

    /**
     * @param what         what went non-finite, e.g. "loss NaN"
     * @param epoch        epochs completed when it happened
     * @param iteration    the iteration (0-based) that produced it
     * @param learningRate the learning rate at that iteration
     */
    public TrainingDivergedException(String what, int epoch, int iteration, double learningRate) {
        super("training diverged: " + what + " at iteration " + iteration + " (epoch " + (epoch + 1) + ", learning rate "
                + learningRate + "); the model keeps the parameters of the last good iteration and no checkpoint was written "
                + "from the bad state. Try a smaller learning rate.");
        this.epoch = epoch;
        this.iteration = iteration;
        this.learningRate = learningRate;
    }

    /** Epochs completed when training diverged. */
    public int epoch() { return epoch; }

    /** The 0-based iteration whose loss (or the check after it) was not finite. */
    public int iteration() { return iteration; }

    /** The learning rate at that iteration. */
    public double learningRate() { return learningRate; }
}
