package dev.panamann.train;

import dev.panamann.io.Formats;
import dev.panamann.optim.Optimizers;
import java.util.Locale;

/**
 * How a model is trained: the {@link Solver} settings that matter for the result (the command
 * line stores them in a run's {@code model.json}).
 *
 * @param updateRule   "sgd", "sgd_momentum", "nesterov", "rmsprop" or "adam"
 * @param learningRate initial learning rate, &gt; 0
 * @param lrDecay      factor applied to the learning rate after every epoch, &gt; 0
 * @param batchSize    minibatch size, &gt;= 1
 * @param epochs       epochs of the whole run, 1 to {@link #MAX_EPOCHS}
 * @param flip         augment the training images with random horizontal flips
 */
public record TrainSettings(String updateRule, double learningRate, double lrDecay, int batchSize, int epochs, boolean flip) {

    /** The most epochs a run may ask for (its loss history holds one value per iteration). */
    public static final int MAX_EPOCHS = 100_000;

    /** @throws IllegalArgumentException naming the value that is out of range */
    public TrainSettings {
        updateRule = updateRule == null ? null : updateRule.trim().toLowerCase(Locale.ROOT);
        if (!Optimizers.RULES.contains(updateRule)) {
            throw new IllegalArgumentException("unknown update rule '" + updateRule + "': use one of " + String.join(", ", Optimizers.RULES));
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be > 0, got " + learningRate);
        }
        if (!(lrDecay > 0) || !Double.isFinite(lrDecay)) throw new IllegalArgumentException("lr decay must be > 0, got " + lrDecay);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (epochs < 1 || epochs > MAX_EPOCHS) {
            throw new IllegalArgumentException("epochs must be between 1 and " + MAX_EPOCHS + ", got " + epochs);
        }
    }

    /** Without data augmentation. */
    public TrainSettings(String updateRule, double learningRate, double lrDecay, int batchSize, int epochs) {
        this(updateRule, learningRate, lrDecay, batchSize, epochs, false);
    }

    /** With or without random horizontal flips of the training images. */
    public TrainSettings withFlip(boolean on) { return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, epochs, on); }

    /** The same settings with another update rule. */
    public TrainSettings withUpdateRule(String r) { return new TrainSettings(r, learningRate, lrDecay, batchSize, epochs, flip); }

    /** The same settings with another initial learning rate. */
    public TrainSettings withLearningRate(double lr) { return new TrainSettings(updateRule, lr, lrDecay, batchSize, epochs, flip); }

    /** The same settings with another learning rate decay. */
    public TrainSettings withLrDecay(double d) { return new TrainSettings(updateRule, learningRate, d, batchSize, epochs, flip); }

    /** The same settings with another batch size. */
    public TrainSettings withBatchSize(int b) { return new TrainSettings(updateRule, learningRate, lrDecay, b, epochs, flip); }

    /** The same settings with another number of epochs. */
    public TrainSettings withEpochs(int e) { return new TrainSettings(updateRule, learningRate, lrDecay, batchSize, e, flip); }

    /** One line for logs: "sgd, lr 0.001, lr x 0.95 per epoch, batch 200, 10 epochs". */
    public String describe() {
        return String.format(Locale.ROOT, "%s, lr %s, %s, batch %d, %d epochs%s", updateRule, Formats.number(learningRate),
                lrDecay == 1.0 ? "no lr decay" : "lr x " + Formats.number(lrDecay) + " per epoch", batchSize, epochs,
                flip ? ", random horizontal flips" : "");
    }
}
