/** An application that trains, saves, loads and runs a panama-nn model. */
module dev.panamann.example {
    requires dev.panamann;
}
