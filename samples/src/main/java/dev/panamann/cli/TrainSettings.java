package dev.panamann.cli;

import dev.panamann.optim.Optimizers;
import java.util.Locale;

/**
 * How a model is trained: the {@link dev.panamann.train.Solver} settings that matter for the
 * result (stored in the run's {@code model.json}).
 *
 * @param updateRule   "sgd", "sgd_momentum", "nesterov", "rmsprop" or "adam"
 * @param learningRate initial learning rate, &gt; 0
 * @param lrDecay      factor applied to the learning rate after every epoch, &gt; 0
 * @param batchSize    minibatch size, &gt;= 1
 * @param epochs       epochs of the whole run, &gt;= 1
 */
public record TrainSettings(String updateRule, double learningRate, double lrDecay, int batchSize, int epochs, boolean flip) {

    public TrainSettings {
        updateRule = updateRule == null ? null : updateRule.trim().toLowerCase(Locale.ROOT);
        if (!Optimizers.RULES.contains(updateRule)) {
            throw new UserError("unknown update rule '" + updateRule + "': use one of " + String.join(", ", Optimizers.RULES));
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) throw new UserError("learning rate must be > 0, got " + learningRate);
        if (!(lrDecay > 0) || !Double.isFinite(lrDecay)) throw new UserError("lr decay must be > 0, got " + lrDecay);
        if (batchSize < 1) throw new UserError("batch size must be >= 1, got " + batchSize);
        if (epochs < 1 || epochs > MAX_EPOCHS) throw new UserError("epochs must be between 1 and " + MAX_EPOCHS + ", got " + epochs);
    }

    /** The most epochs a run may ask for (its loss history holds one value per iteration). */
    public static final int MAX_EPOCHS = 100_000;

    /**
     * Checks a batch size the user asked for against the training examples, before any batch
     * buffer is allocated: a batch larger than the training set samples more than the whole set
     * each iteration, and a huge one would allocate its whole size for nothing.
     *
     * @throws UserError naming the option and the limit
     */
    public void checkAgainst(int trainingExamples) {
        if (batchSize > trainingExamples) {
            throw new UserError("--batch-size " + batchSize + " is larger than the " + trainingExamples
                    + " training examples: use at most " + trainingExamples + " (or more --num-train)");
        }
    }

    /** The default schedule of a model type, the one {@code panama-nn train} uses: see {@link ModelRegistry#ENTRIES}. */
    public static TrainSettings defaults(String type) {
        return ModelRegistry.get(type).training();
    }

    /** The same settings with another update rule. */
    /** Without data augmentation. */
    public TrainSettings(String updateRule, double learningRate, double lrDecay, int batchSize, int epochs) {
        this(updateRule, learningRate, lrDecay, batchSize, epochs, false);
    }

    /** With or without random horizontal flips of the training images. */
    public TrainSettings withFlip(boolean on) { return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, on); }

    public TrainSettings withUpdateRule(String r) { return new TrainSettings(r, learningRate, lrDecay, batchSize, epochs, flip); }

    /** The same settings with another initial learning rate. */
    public TrainSettings withLearningRate(double lr) { return new TrainSettings(updateRule, lr, lrDecay, batchSize, epochs, flip); }

    /** The same settings with another learning rate decay. */
    public TrainSettings withLrDecay(double d) { return new TrainSettings(updateRule, learningRate, d, batchSize, epochs, flip); }

    /** The same settings with another batch size. */
    public TrainSettings withBatchSize(int b) { return new TrainSettings(updateRule, learningRate, lrDecay, b, epochs, flip); }

    /** The same settings with another number of epochs. */
    public TrainSettings withEpochs(int e) { return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, e, flip); }

    /** One line for logs. */
    public String describe() {
        return String.format(Locale.ROOT, "%s, lr %s, %s, batch %d, %d epochs%s", updateRule, ModelSpec.num(learningRate),
                lrDecay == 1.0 ? "no lr decay" : "lr x " + ModelSpec.num(lrDecay) + " per epoch", batchSize, epochs,
                flip ? ", random horizontal flips" : "");
    }
}
