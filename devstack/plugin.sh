#!/bin/bash
# shellcheck shell=bash source-path=SCRIPTDIR
#
# devstack/plugin.sh: zaqar-go in devstack, in place of Zaqar.
#
#   [[local|localrc]]
#   enable_plugin zaqar-go https://github.com/zaqar-go/suite
#
# Devstack sources this file (it is not run) as `plugin.sh MODE [PHASE]`
# after devstack/settings; see README.md for the phases and variables.

# shellcheck source=lib/zaqar-go
source "$(dirname "${BASH_SOURCE[0]}")/lib/zaqar-go"

if is_service_enabled zaqar-wsgi zaqar-websocket; then
    if [[ $1 == stack && $2 == install ]]; then
        echo_summary "Installing zaqar-go"
        install_zaqargo
        install_zaqargo_clients
    elif [[ $1 == stack && $2 == post-config ]]; then
        echo_summary "Configuring zaqar-go"
        configure_zaqargo
    elif [[ $1 == stack && $2 == extra ]]; then
        echo_summary "Starting zaqar-go"
        if is_service_enabled key; then
            create_zaqargo_accounts
        fi
        start_zaqargo
    elif [[ $1 == stack && $2 == test-config ]]; then
        if is_service_enabled tempest; then
            echo_summary "Configuring tempest for zaqar-go"
            configure_tempest_for_zaqargo
        fi
    fi

    if [[ $1 == unstack ]]; then
        stop_zaqargo
    fi

    if [[ $1 == clean ]]; then
        cleanup_zaqargo
    fi
fi
