package dev.panamann.cli;

import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** {@code --model}: the model type a command builds ({@code train}, {@code search}, {@code gradcheck}). */
public final class ModelOption {
    @Option(names = "--model", paramLabel = "TYPE", completionCandidates = ModelRegistry.Names.class,
            description = "${COMPLETION-CANDIDATES} (default: train convnet, search and gradcheck twolayer; search takes twolayer or fc).")
    String model;

    /**
     * The type asked for, lower case, or {@code fallback} without --model.
     *
     * @param allowed the types this command takes
     * @throws UserError naming the allowed types when --model names another
     */
    public String type(String fallback, List<String> allowed) {
        String type = model == null ? fallback : model.toLowerCase(Locale.ROOT);
        if (!allowed.contains(type)) throw new UserError("unknown --model '" + model + "': use one of " + String.join(", ", allowed));
        return type;
    }
}
